package io.specula.engine;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import io.specula.SpeculaException;
import io.specula.model.PyTorchEngine;

import java.util.Locale;

/** Turns the device and dtype settings into DJL's types: "cpu", "cuda", "cuda:N", "auto"; "auto", "float32", "float16". */
final class DeviceSelection {

    private DeviceSelection() {
    }

    static Device device(String setting) {
        String s = setting == null ? "cpu" : setting.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return Device.cpu();
        }
        if (s.equals("auto")) {
            // Without DJL's PyTorch engine there is no GPU path: auto is the CPU.
            return PyTorchEngine.isAvailable() && gpuCount() > 0 ? Device.gpu() : Device.cpu();
        }
        if (s.equals("cuda") || s.equals("gpu") || s.startsWith("cuda:")) {
            int index = 0;
            if (s.startsWith("cuda:")) {
                try {
                    index = Integer.parseInt(s.substring(5));
                } catch (NumberFormatException e) {
                    throw new SpeculaException("device: '" + setting + "' is not valid; expected cpu, cuda, cuda:N or auto");
                }
            }
            PyTorchEngine.require("device '" + setting + "'");
            int gpus = gpuCount();
            if (index < 0 || index >= gpus) {
                throw new SpeculaException("device: '" + setting + "' was asked for but DJL's PyTorch engine sees "
                        + gpus + " CUDA device(s); use a CUDA build of libtorch (see docs/getting-started.md) or cpu");
            }
            return Device.gpu(index);
        }
        throw new SpeculaException("device: '" + setting + "' is not valid; expected cpu, cuda, cuda:N or auto");
    }

    static DataType dataType(String setting, Device device) {
        String s = setting == null ? "auto" : setting.trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "auto" -> device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
            case "float32", "fp32", "f32" -> DataType.FLOAT32;
            case "float16", "fp16", "f16", "half" -> {
                if (!device.isGpu()) {
                    throw new SpeculaException("dtype: float16 is for CUDA devices; on the CPU use auto (weights "
                            + "stored as F16 or BF16 stay 16-bit, the arithmetic is float32) or float32");
                }
                yield DataType.FLOAT16;
            }
            default -> throw new SpeculaException("dtype: '" + setting + "' is not valid; expected auto, float32 or float16");
        };
    }

    /** Whether the setting asks for float32 by name (on the CPU: widen 16-bit weights), rather than "auto". */
    static boolean isExplicitFloat32(String setting) {
        String s = setting == null ? "" : setting.trim().toLowerCase(Locale.ROOT);
        return s.equals("float32") || s.equals("fp32") || s.equals("f32");
    }

    private static int gpuCount() {
        try {
            return Engine.getEngine("PyTorch").getGpuCount();
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            return 0;
        }
    }
}
