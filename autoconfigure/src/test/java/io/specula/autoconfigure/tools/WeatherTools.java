package io.specula.autoconfigure.tools;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.annotation.ToolParam;

/** The tool the tiny model learned to call; remembers the cities it was asked about. */
public class WeatherTools {

    final List<String> cities = new CopyOnWriteArrayList<>();

    @Tool(description = "Weather in a city")
    public String currentWeather(@ToolParam(description = "the city") String city) {
        this.cities.add(city);
        return "sunny";
    }
}
