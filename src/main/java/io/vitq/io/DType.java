package io.vitq.io;

/** Element types found in checkpoints (safetensors names; PyTorch storages map onto these). */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    public final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    public boolean isFloating() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    public static DType parse(String name, String where) {
        try {
            return DType.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(where + ": unsupported dtype '" + name + "'");
        }
    }
}
