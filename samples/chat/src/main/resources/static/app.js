// Specula chat sample: streams an answer from POST api/chat/stream (server-sent events read through fetch, since
// EventSource cannot POST), colours each token by its source, and polls actuator/specula and api/stats for the
// figures and the acceptance-rate chart. No libraries, no build.
(() => {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const els = {
    form: $('chat-form'), prompt: $('prompt'), maxTokens: $('max-tokens'), temperature: $('temperature'),
    speculative: $('speculative'), send: $('send'), stop: $('stop'), answer: $('answer'),
    answerStats: $('answer-stats'), error: $('error'), models: $('models'),
    acceptance: $('stat-acceptance'), acceptanceHint: $('stat-acceptance-hint'), length: $('stat-length'),
    tps: $('stat-tps'), tpsHint: $('stat-tps-hint'), speedup: $('stat-speedup'), speedupHint: $('stat-speedup-hint'),
    chart: $('chart'), benchStatus: $('bench-status'), benchNote: $('bench-note'),
    policyStatus: $('policy-status'), policyNote: $('policy-note'),
  };

  const FAST_POLL_MS = 1000;
  const SLOW_POLL_MS = 4000;
  const CHART_POINTS = 48; // the chart keeps the latest 48 polling intervals that drafted something

  const state = {
    streaming: false,
    controller: null,
    tokens: { drafter: 0, target: 0 },
    firstTokenAt: 0,
    lastTotals: null,   // cumulative drafted/accepted at the previous poll
    points: [],         // {t, rate}: acceptance rate of each polling interval that drafted something
    benchmark: null,
    pollTimer: null,
  };

  // ---------- formatting ----------
  const pct = (x) => (x == null || Number.isNaN(x) ? '—' : `${(x * 100).toFixed(x >= 0.995 || x === 0 ? 0 : 1)}%`);
  const num = (x, digits = 1) => (x == null || Number.isNaN(x) ? '—' : Number(x).toFixed(digits));
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };

  // ---------- answer rendering ----------
  function clearAnswer() {
    els.answer.replaceChildren();
    els.answerStats.hidden = true;
    els.answerStats.replaceChildren();
    state.tokens = { drafter: 0, target: 0 };
    state.firstTokenAt = 0;
  }

  // A delta carries the text of several tokens (the server sends at most a few events a second); its segments say
  // which text came from drafted tokens and which from the target's own, so each gets its colour.
  function appendDelta(delta) {
    const sources = delta.sources || [];
    const drafted = sources.filter((s) => s === 'DRAFTER').length;
    const target = sources.length - drafted;
    state.tokens.drafter += drafted;
    state.tokens.target += target;
    if (!delta.text) return;
    const segments = delta.segments && delta.segments.length
      ? delta.segments
      : [{ text: delta.text, source: drafted && target ? 'MIXED' : drafted ? 'DRAFTER' : 'TARGET' }];
    for (const segment of segments) {
      if (!segment.text) continue;
      const kind = segment.source.toLowerCase();
      const span = el('span', `tok ${kind} fresh`, segment.text);
      span.title = kind === 'drafter' ? 'drafted tokens, accepted by the target'
        : kind === 'target' ? 'tokens produced by the target' : 'tokens of both sources';
      span.addEventListener('animationend', () => span.classList.remove('fresh'), { once: true });
      els.answer.append(span);
    }
    els.answer.scrollTop = els.answer.scrollHeight;
    if (!state.firstTokenAt) state.firstTokenAt = performance.now();
    const produced = state.tokens.drafter + state.tokens.target;
    const seconds = (performance.now() - state.firstTokenAt) / 1000;
    if (produced > 1 && seconds > 0.05) {
      els.tps.textContent = num((produced - 1) / seconds);
      els.tpsHint.textContent = 'of the current answer, live';
    }
  }

  function showDone(done) {
    const s = done.statistics || {};
    els.tps.textContent = num(s.tokensPerSecond);
    els.tpsHint.textContent = 'of the last answer (decoding, after the prompt)';
    const chips = [];
    chips.push(['', done.finishReason === 'LENGTH' ? 'stopped at the token limit' : 'finished']);
    chips.push(['', `${done.usage ? done.usage.completionTokens : state.tokens.drafter + state.tokens.target} tokens`]);
    chips.push(['d', `${state.tokens.drafter} from the drafter`]);
    chips.push(['t', `${state.tokens.target} from the target`]);
    if (s.speculative && s.draftedTokens > 0) {
      chips.push(['', `acceptance ${pct(s.acceptanceRate)} (${s.acceptedTokens}/${s.draftedTokens})`]);
      chips.push(['', `${num(s.meanAcceptanceLength, 2)} tokens per target pass`]);
    } else if (!s.speculative) {
      chips.push(['', 'plain target (speculation off)']);
    } else {
      chips.push(['', 'no drafts: the draft policy chose plain target steps']);
    }
    chips.push(['', `${num(s.tokensPerSecond)} tokens/s`]);
    if (done.firstTokenSeconds != null) chips.push(['', `first text after ${num(done.firstTokenSeconds, 2)} s`]);
    els.answerStats.replaceChildren(...chips.map(([cls, text]) => el('span', cls, text)));
    els.answerStats.hidden = false;
  }

  function showError(message) {
    els.error.textContent = message;
    els.error.hidden = false;
  }

  // ---------- streaming ----------
  function requestBody() {
    const options = {};
    const maxTokens = els.maxTokens.value.trim();
    if (maxTokens !== '') options.maxTokens = Number(maxTokens);
    const temperature = els.temperature.value.trim();
    if (temperature !== '') options.temperature = Number(temperature);
    options.speculative = els.speculative.checked;
    return { prompt: els.prompt.value, options };
  }

  async function send(event) {
    if (event) event.preventDefault();
    if (state.streaming) return;
    els.error.hidden = true;
    clearAnswer();
    setStreaming(true);
    const controller = new AbortController();
    state.controller = controller;
    try {
      const response = await fetch('api/chat/stream', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: JSON.stringify(requestBody()),
        signal: controller.signal,
      });
      if (!response.ok) {
        let message = `HTTP ${response.status}`;
        try {
          const body = await response.json();
          message = body.detail || message;
        } catch (ignored) { /* not JSON */ }
        showError(message);
        return;
      }
      await readEvents(response.body, (name, data) => {
        if (name === 'token') appendDelta(data);
        else if (name === 'done') showDone(data);
        else if (name === 'error') showError(data.detail || 'The generation failed.');
      });
    } catch (ex) {
      if (ex.name !== 'AbortError') showError(`The request failed: ${ex.message}`);
    } finally {
      state.controller = null;
      setStreaming(false);
      if (!els.answer.childNodes.length) {
        els.answer.append(el('p', 'placeholder', 'No answer.'));
      }
      poll();
    }
  }

  // Reads a text/event-stream body and calls onEvent(name, parsedData) per event.
  async function readEvents(body, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder('utf-8');
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        dispatch(buffer.slice(0, end), onEvent);
        buffer = buffer.slice(end + 2);
      }
    }
    if (buffer.trim()) dispatch(buffer, onEvent);
  }

  function dispatch(block, onEvent) {
    let name = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) name = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
    }
    if (!data.length) return;
    let parsed;
    try {
      parsed = JSON.parse(data.join('\n'));
    } catch (ignored) {
      parsed = { text: data.join('\n'), sources: [] };
    }
    onEvent(name, parsed);
  }

  function setStreaming(on) {
    state.streaming = on;
    document.body.dataset.state = on ? 'streaming' : (els.error.hidden ? 'done' : 'error');
    els.send.disabled = on;
    els.stop.disabled = !on;
    els.send.textContent = on ? 'Generating…' : 'Generate';
    schedulePoll(on ? 200 : SLOW_POLL_MS);
  }

  // ---------- figures from the Actuator endpoint ----------
  async function poll() {
    try {
      const response = await fetch('actuator/specula', { headers: { Accept: 'application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      showModels(data);
      showFigures(data);
      showAdaptive(data.adaptive);
    } catch (ex) {
      els.models.replaceChildren(el('li', 'chip down', `actuator unreachable (${ex.message})`));
    } finally {
      schedulePoll(state.streaming ? FAST_POLL_MS : SLOW_POLL_MS);
    }
  }

  function schedulePoll(delay) {
    clearTimeout(state.pollTimer);
    state.pollTimer = setTimeout(poll, delay);
  }

  function showModels(data) {
    const m = data.models || {};
    const c = data.configuration || {};
    const chip = (cls, label, value) => {
      const li = el('li', `chip ${cls}`);
      li.append(`${label} `, el('b', null, value));
      return li;
    };
    const chips = [chip('target-chip', 'target', m.target), chip('drafter-chip', 'drafter', m.drafter),
      chip('', 'device', `${m.device} · ${m.dtype} · ${m.kernel}`)];
    if (c.drafterLoaded) chips.push(chip('', 'policy', `${c.draftPolicy || 'adaptive'} · γ ≤ ${c.draftTokens ?? 4}`));
    els.models.replaceChildren(...chips);
  }

  function showPolicy(policy) {
    if (!policy) {
      els.policyStatus.textContent = 'n/a';
      els.policyNote.textContent = 'No adaptive draft policy (no drafter loaded).';
      return;
    }
    els.policyStatus.textContent = policy.drafting ? 'drafting' : 'not drafting';
    els.policyStatus.className = `badge ${policy.drafting ? 'done' : 'off'}`;
    els.policyNote.textContent = policy.reason;
  }

  function showFigures(data) {
    showPolicy(data.policy);
    const recent = data.recent || {};
    const total = data.cumulative || {};
    if (recent.acceptanceRate != null) {
      els.acceptance.textContent = pct(recent.acceptanceRate);
      els.acceptanceHint.textContent = `drafted tokens the target kept, last ${recent.drafts} drafts`;
      els.length.textContent = num(recent.meanAcceptanceLength, 2);
    } else {
      els.acceptance.textContent = '—';
      els.length.textContent = '—';
    }
    const drafted = total.draftedTokens || 0;
    const accepted = total.acceptedTokens || 0;
    const last = state.lastTotals;
    if (last == null) {
      // first look: start the chart from the recent window, if anything was drafted before the page opened
      if (recent.acceptanceRate != null) state.points.push({ t: Date.now(), rate: recent.acceptanceRate });
    } else if (drafted > last.drafted) {
      state.points.push({ t: Date.now(), rate: (accepted - last.accepted) / (drafted - last.drafted) });
      if (state.points.length > CHART_POINTS) state.points.shift();
    }
    state.lastTotals = { drafted, accepted };
    drawChart();
  }

  // ---------- the adaptive drafter (spring.ai.specula.adaptive.enabled=true): serving version, acceptance per version
  function showAdaptive(a) {
    const panel = $('adaptive-panel');
    if (!a || !a.enabled) { panel.hidden = true; return; }
    panel.hidden = false;
    $('adaptive-status').textContent = a.paused ? 'paused' : `serving v${a.version}`;
    $('adaptive-status').dataset.version = a.version;
    $('adaptive-summary').textContent = `target v${a.targetVersion ?? 1} · ${a.trainingSteps} training steps · `
      + `${a.updatesAccepted} versions accepted, ${a.updatesRejected} rejected · ${a.examplesCollected} examples`;
    const rows = (a.versions || []).map(v => {
      const tr = el('tr', v.current ? 'current' : null);
      tr.dataset.version = v.version;
      tr.append(el('th', null, `v${v.version}${v.current ? ' (serving)' : ''}`), el('td', null, String(v.requests)),
        el('td', null, v.draftedTokens > 0 ? pct(v.acceptedTokens / v.draftedTokens) : '—'),
        el('td', null, v.heldOutMatchRate == null || isNaN(v.heldOutMatchRate) ? '—' : pct(v.heldOutMatchRate)));
      return tr;
    });
    $('adaptive-versions').replaceChildren(...rows);
  }

  // ---------- chart: a small inline SVG ----------
  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    return e;
  }

  function drawChart() {
    const W = 360; const H = 150; const left = 34; const right = 8; const top = 8; const bottom = 20;
    const w = W - left - right; const h = H - top - bottom;
    const nodes = [];
    const defs = svg('defs');
    const gradient = svg('linearGradient', { id: 'chart-fill', x1: 0, y1: 0, x2: 0, y2: 1 });
    gradient.append(svg('stop', { offset: '0%', 'stop-color': '#10b981', 'stop-opacity': 0.35 }),
      svg('stop', { offset: '100%', 'stop-color': '#10b981', 'stop-opacity': 0.02 }));
    defs.append(gradient);
    nodes.push(defs);
    const grid = svg('g', { class: 'grid' });
    for (const v of [0, 0.25, 0.5, 0.75, 1]) {
      const y = top + h - v * h;
      grid.append(svg('line', { x1: left, x2: W - right, y1: y, y2: y }));
      grid.append(svg('text', { x: left - 6, y: y + 3, 'text-anchor': 'end' }, `${v * 100}%`));
    }
    nodes.push(grid);
    const points = state.points;
    if (!points.length) {
      nodes.push(svg('text', { class: 'empty', x: left + w / 2, y: top + h / 2, 'text-anchor': 'middle' },
        'No drafts yet: ask something'));
    } else {
      // evenly spread over the width, the newest point on the right
      const step = points.length > 1 ? w / (points.length - 1) : 0;
      const x0 = points.length > 1 ? left : left + w;
      const xy = points.map((p, i) => [x0 + i * step, top + h - Math.max(0, Math.min(1, p.rate)) * h]);
      const line = xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
      if (xy.length > 1) {
        nodes.push(svg('polygon', {
          class: 'area',
          points: `${xy[0][0].toFixed(1)},${top + h} ${line} ${xy[xy.length - 1][0].toFixed(1)},${top + h}`,
        }));
        nodes.push(svg('polyline', { class: 'line', points: line }));
      }
      const [lx, ly] = xy[xy.length - 1];
      nodes.push(svg('circle', { class: 'dot', cx: lx, cy: ly, r: 3.5 }));
      const clock = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
      if (points.length > 1) grid.append(svg('text', { x: left, y: H - 5 }, clock(points[0].t)));
      grid.append(svg('text', { x: W - right, y: H - 5, 'text-anchor': 'end' }, clock(points[points.length - 1].t)));
    }
    els.chart.replaceChildren(...nodes);
  }

  // ---------- start-up benchmark ----------
  async function pollBenchmark() {
    let again = true;
    try {
      const response = await fetch('api/stats', { headers: { Accept: 'application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      const b = data.benchmark;
      state.benchmark = b;
      if (data.limits && data.limits.maxTokens) els.maxTokens.max = data.limits.maxTokens;
      els.benchStatus.textContent = b.status;
      els.benchStatus.className = `badge ${b.status}`;
      if (b.status === 'done') {
        again = false;
        els.speedup.textContent = `×${num(b.speedup, 2)}`;
        els.speedupHint.textContent =
          `against the plain target at start-up: ${num(b.speculative.tokensPerSecond)} vs ${num(b.plain.tokensPerSecond)} tokens/s`;
        for (const [key, run] of [['plain', b.plain], ['spec', b.speculative]]) {
          $(`bench-${key}-tps`).textContent = num(run.tokensPerSecond);
          $(`bench-${key}-tokens`).textContent = run.tokens;
          $(`bench-${key}-s`).textContent = num(run.seconds, 2);
        }
        const s = b.speculative;
        $('bench-spec-drafted').textContent = `${s.draftedTokens} (${s.acceptedTokens} kept)`;
        els.benchNote.textContent = `Greedy, ${b.maxTokens} tokens of a fixed prompt: medians of ${b.rounds} `
          + `alternating rounds after a warm-up of each mode. `
          + (b.sameText ? 'Every run gave the same text, as it must.' : 'The texts differed!')
          + (s.draftedTokens > 0
            ? ` ${s.acceptedTokens} of ${s.draftedTokens} drafted tokens accepted (${pct(s.acceptanceRate)}).`
            : ` Nothing was drafted, so this is no measure of speculation: ${b.notDrafting || 'the draft policy chose the target alone'}.`);
      } else if (b.status === 'failed') {
        again = false;
        els.speedup.textContent = '—';
        els.speedupHint.textContent = 'the start-up measurement failed';
        els.benchNote.textContent = b.error || 'The measurement failed.';
      } else if (b.status === 'disabled') {
        again = false;
        els.speedup.textContent = '—';
        els.speedupHint.textContent = 'no start-up measurement (specula.sample.benchmark.enabled=false)';
      } else {
        els.speedup.textContent = '…';
        els.speedupHint.textContent = 'measuring the plain target and speculative decoding…';
      }
    } catch (ex) {
      els.benchNote.textContent = `api/stats unreachable (${ex.message})`;
    }
    if (again) setTimeout(pollBenchmark, 1500);
  }

  // ---------- wiring ----------
  els.form.addEventListener('submit', send);
  els.prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) send(e);
  });
  els.stop.addEventListener('click', () => state.controller && state.controller.abort());
  drawChart();
  poll();
  pollBenchmark();
})();
