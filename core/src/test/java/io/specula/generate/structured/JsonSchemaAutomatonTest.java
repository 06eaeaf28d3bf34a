package io.specula.generate.structured;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.RunAutomaton;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JsonSchemaAutomatonTest {

    /** What Spring AI's BeanOutputConverter writes for a record with a nested record, lists, an enum. */
    static final String PERSON = """
            {
              "$schema" : "https://json-schema.org/draft/2020-12/schema",
              "$defs" : {
                "Address" : {
                  "type" : "object",
                  "properties" : {
                    "number" : { "type" : "integer", "format" : "int32" },
                    "street" : { "type" : "string" }
                  },
                  "required" : [ "number", "street" ],
                  "additionalProperties" : false
                }
              },
              "type" : "object",
              "properties" : {
                "active" : { "type" : "boolean" },
                "address" : { "$ref" : "#/$defs/Address" },
                "age" : { "type" : "integer", "format" : "int32" },
                "colour" : { "type" : "string", "enum" : [ "RED", "GREEN" ] },
                "height" : { "type" : "number", "format" : "double" },
                "name" : { "type" : "string" },
                "others" : { "type" : "array", "items" : { "$ref" : "#/$defs/Address" } },
                "tags" : { "type" : "array", "items" : { "type" : "string" } }
              },
              "required" : [ "active", "address", "age", "colour", "height", "name", "others", "tags" ],
              "additionalProperties" : false
            }""";

    static final RunAutomaton PERSON_DFA = new RunAutomaton(JsonSchemaAutomaton.compile(PERSON));

    static boolean accepts(RunAutomaton dfa, String json) {
        int s = dfa.getInitialState();
        for (byte b : json.getBytes(StandardCharsets.UTF_8)) {
            s = dfa.step(s, (char) (b & 0xFF));
            if (s < 0) {
                return false;
            }
        }
        return dfa.isAccept(s);
    }

    @Test
    void acceptsValidJsonCompactAndPrettyPrinted() {
        String compact = "{\"active\":true,\"address\":{\"number\":12,\"street\":\"Rue de l'\\u00e9glise \\\"A\\\"\"},"
                + "\"age\":-3,\"colour\":\"GREEN\",\"height\":1.75e+2,\"name\":\"Zoë 日本\",\"others\":[],"
                + "\"tags\":[\"a\",\"b\"]}";
        String pretty = """
                {
                  "active": false,
                  "address": {
                    "number": 0,
                    "street": ""
                  },
                  "age": 42,
                  "colour": "RED",
                  "height": 0.5,
                  "name": "Fox",
                  "others": [ { "number": 1, "street": "x" }, {"number":2,"street":"y"} ],
                  "tags": []
                }""";
        assertThat(accepts(PERSON_DFA, compact)).isTrue();
        assertThat(accepts(PERSON_DFA, pretty)).isTrue();
        assertThat(SchemaCheck.violations(PERSON, compact)).isEmpty();
        assertThat(SchemaCheck.violations(PERSON, pretty)).isEmpty();
    }

    @Test
    void rejectsWhatTheSchemaRejects() {
        String valid = "{\"active\":true,\"address\":{\"number\":1,\"street\":\"s\"},\"age\":1,\"colour\":\"RED\","
                + "\"height\":1,\"name\":\"n\",\"others\":[],\"tags\":[]}";
        assertThat(accepts(PERSON_DFA, valid)).isTrue();
        assertThat(accepts(PERSON_DFA, valid.replace("\"RED\"", "\"BLUE\""))).as("not in the enum").isFalse();
        assertThat(accepts(PERSON_DFA, valid.replace("\"age\":1", "\"age\":1.5"))).as("not an integer").isFalse();
        assertThat(accepts(PERSON_DFA, valid.replace("\"age\":1", "\"age\":01"))).as("leading zero").isFalse();
        assertThat(accepts(PERSON_DFA, valid.replace("\"age\":1", "\"age\":1234567890"))).as("over int32").isFalse();
        assertThat(accepts(PERSON_DFA, valid.replace("true", "\"true\""))).as("a string for a boolean").isFalse();
        assertThat(accepts(PERSON_DFA, valid.replace("\"name\":\"n\",", ""))).as("missing property").isFalse();
        assertThat(accepts(PERSON_DFA, valid.replace("{\"active\"", "{\"extra\":1,\"active\""))).isFalse();
        assertThat(accepts(PERSON_DFA, valid.replace("\"tags\":[]", "\"tags\":[1]"))).as("item type").isFalse();
        assertThat(accepts(PERSON_DFA, valid.replace("\"s\"", "\"a\nb\""))).as("raw newline in a string").isFalse();
        assertThat(accepts(PERSON_DFA, valid.replace("\"s\"", "\"\\x\""))).as("bad escape").isFalse();
        assertThat(accepts(PERSON_DFA, valid.substring(0, valid.length() - 1))).as("unfinished").isFalse();
        assertThat(accepts(PERSON_DFA, valid + "x")).as("trailing text").isFalse();
        assertThat(accepts(PERSON_DFA, valid.replace(":", ":" + " ".repeat(30)))).as("endless whitespace").isFalse();
    }

    @Test
    void mapsArraysBoundsAndUnions() {
        String schema = """
                {"type":"object","properties":{
                  "scores":{"type":"object","additionalProperties":{"type":"number"}},
                  "pair":{"type":"array","items":{"type":"boolean"},"minItems":2,"maxItems":2},
                  "note":{"type":["string","null"],"maxLength":3},
                  "kind":{"anyOf":[{"const":"a"},{"type":"integer"}]}}}""";
        RunAutomaton dfa = new RunAutomaton(JsonSchemaAutomaton.compile(schema));
        assertThat(accepts(dfa, "{\"scores\":{\"x\":1,\"y\":2.5},\"pair\":[true,false],\"note\":null,\"kind\":\"a\"}"))
            .isTrue();
        assertThat(accepts(dfa, "{\"scores\":{},\"pair\":[true,true],\"note\":\"abc\",\"kind\":7}")).isTrue();
        assertThat(accepts(dfa, "{\"scores\":{},\"pair\":[true],\"note\":null,\"kind\":7}")).isFalse();
        assertThat(accepts(dfa, "{\"scores\":{},\"pair\":[true,true],\"note\":\"abcd\",\"kind\":7}")).isFalse();
        assertThat(accepts(dfa, "{\"scores\":{},\"pair\":[true,true],\"note\":\"日本\",\"kind\":7}")).isTrue();
        assertThat(accepts(dfa, "{\"scores\":{},\"pair\":[true,true],\"note\":null,\"kind\":\"b\"}")).isFalse();
    }

    @Test
    void unsupportedSchemasAreRefusedNamingWhereAndWhy() {
        assertThatThrownBy(() -> JsonSchemaAutomaton.compile("{\"type\":\"object\",\"properties\":{\"n\":"
                + "{\"type\":\"string\",\"pattern\":\"^a\"}}}"))
            .isInstanceOf(InvalidSchemaException.class)
            .hasMessageContaining("/properties/n")
            .hasMessageContaining("'pattern' is not supported");
        assertThatThrownBy(() -> JsonSchemaAutomaton.compile("{\"$defs\":{\"Node\":{\"type\":\"object\","
                + "\"properties\":{\"next\":{\"$ref\":\"#/$defs/Node\"}}}},\"$ref\":\"#/$defs/Node\"}"))
            .isInstanceOf(InvalidSchemaException.class)
            .hasMessageContaining("recursive");
        assertThatThrownBy(() -> JsonSchemaAutomaton.compile("{\"type\":\"object\",\"properties\":{\"any\":{}}}"))
            .hasMessageContaining("/properties/any")
            .hasMessageContaining("has no type");
        assertThatThrownBy(() -> JsonSchemaAutomaton.compile("not json"))
            .hasMessageStartingWith("outputSchema ")
            .hasMessageContaining("is not JSON");
    }

    @Test
    void theGrammarStaysSmall() {
        Automaton a = JsonSchemaAutomaton.compile(PERSON);
        // A few thousand states at most: whitespace and number bounds multiply states, not the schema's size.
        assertThat(a.getNumberOfStates()).isLessThan(5000);
    }
}
