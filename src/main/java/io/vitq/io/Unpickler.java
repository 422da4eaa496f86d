package io.vitq.io;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A small pickle virtual machine that builds plain Java values and never runs code.
 *
 * <p>Python's unpickler imports and calls whatever a GLOBAL names, which is why loading an untrusted
 * {@code .pth} with it is arbitrary code execution. Here GLOBAL / STACK_GLOBAL are resolved through the
 * caller's {@link Globals} allow-list, and REDUCE / NEWOBJ may only invoke the Java stand-ins
 * ({@link Callable}) that allow-list hands out. Only the opcodes that {@code torch.save} state dicts
 * use (plus a few cheap relatives) are implemented; anything else is an error naming the opcode.
 *
 * <p>Values: None = {@code null}, bool = Boolean, int = Long (BigInteger when it does not fit),
 * float = Double, str = String, bytes = byte[], list = mutable ArrayList, tuple = unmodifiable List,
 * dict = LinkedHashMap (insertion order, like Python).
 */
final class Unpickler {

    /** A Java stand-in for an allow-listed Python callable. */
    interface Callable {
        Object call(List<Object> args);
    }

    /** Maps {@code module.name} to a Java stand-in; throws CheckpointException for anything not allowed. */
    interface Globals {
        Object resolve(String module, String name);
    }

    private final String source;
    private final ByteBuffer original;
    private final ByteBuffer in; // a little-endian view of `original`, read with absolute offsets
    private final Globals globals;
    private final Function<Object, Object> persistentLoad;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private int pos;

    /**
     * @param source         names the file in error messages
     * @param in             the pickle starts at {@code in.position()}; after {@link #load()} the position
     *                       is just past STOP, so a sequence of pickles can be read one after another
     * @param persistentLoad resolves BINPERSID ids (torch storages); null when none are expected
     */
    Unpickler(String source, ByteBuffer in, Globals globals, Function<Object, Object> persistentLoad) {
        this.source = source;
        this.original = in;
        this.in = in.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.globals = globals;
        this.persistentLoad = persistentLoad;
        this.pos = in.position();
    }

    /** Runs the pickle up to its STOP opcode and returns the object it describes. */
    Object load() {
        try {
            return run();
        } catch (StackOverflowError e) { // hashing a key tuple nested a million deep recurses
            throw error("pickle nests objects too deeply");
        }
    }

    private Object run() {
        while (true) {
            int at = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = u8();
                    if (proto > 5) throw error("unsupported pickle protocol " + proto);
                }
                case 0x95 -> skip(8); // FRAME: only a read-ahead hint; the whole stream is in memory anyway
                case '.' -> { // STOP
                    Object result = pop();
                    original.position(pos);
                    return result;
                }
                case '(' -> marks.add(stack.size()); // MARK
                case '0' -> pop(); // POP
                case '1' -> popMark(); // POP_MARK
                case '2' -> push(peek()); // DUP
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) in.getInt(take(4))); // BININT
                case 'K' -> push((long) u8()); // BININT1
                case 'M' -> push((long) (in.getShort(take(2)) & 0xffff)); // BININT2
                case 0x8a -> push(longFromBytes(u8())); // LONG1
                case 0x8b -> push(longFromBytes(length(4))); // LONG4
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong(take(8))))); // BINFLOAT: big-endian
                case 'X' -> push(string(length(4), StandardCharsets.UTF_8)); // BINUNICODE
                case 0x8c -> push(string(u8(), StandardCharsets.UTF_8)); // SHORT_BINUNICODE
                case 0x8d -> push(string(length(8), StandardCharsets.UTF_8)); // BINUNICODE8
                // Python 2 str (old legacy checkpoints); torch decodes these as ASCII, latin-1 is a superset
                case 'T' -> push(string(length(4), StandardCharsets.ISO_8859_1)); // BINSTRING
                case 'U' -> push(string(u8(), StandardCharsets.ISO_8859_1)); // SHORT_BINSTRING
                case 'B' -> push(bytes(length(4))); // BINBYTES
                case 'C' -> push(bytes(u8())); // SHORT_BINBYTES
                case 0x8e -> push(bytes(length(8))); // BINBYTES8
                case ')' -> push(tuple(List.of())); // EMPTY_TUPLE
                case 0x85 -> push(tuple(popN(1))); // TUPLE1
                case 0x86 -> push(tuple(popN(2))); // TUPLE2
                case 0x87 -> push(tuple(popN(3))); // TUPLE3
                case 't' -> push(tuple(popMark())); // TUPLE
                case ']' -> push(new ArrayList<>()); // EMPTY_LIST
                case 'l' -> push(new ArrayList<>(popMark())); // LIST
                case 'a' -> list(peekBelow(1), at).add(pop()); // APPEND
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    list(peek(), at).addAll(items);
                }
                case '}' -> push(new LinkedHashMap<>()); // EMPTY_DICT
                case 'd' -> { // DICT
                    Map<Object, Object> d = new LinkedHashMap<>();
                    putAll(d, popMark(), at);
                    push(d);
                }
                case 's' -> { // SETITEM
                    Object value = pop(), key = pop();
                    dict(peek(), at).put(hashable(key, at), value);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark();
                    putAll(dict(peek(), at), items, at);
                }
                case 'q' -> memo.put((long) u8(), peek()); // BINPUT
                case 'r' -> memo.put(length(4), peek()); // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
                case 'h' -> push(memoGet(u8(), at)); // BINGET
                case 'j' -> push(memoGet(length(4), at)); // LONG_BINGET
                case 'c' -> { // GLOBAL "module\nname\n"
                    String module = line(), name = line();
                    push(globals.resolve(module, name));
                }
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop(), module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw error("STACK_GLOBAL at offset " + at + " needs two strings");
                    }
                    push(globals.resolve(m, n));
                }
                case 'R' -> { // REDUCE: callable(*args)
                    Object args = pop();
                    push(call(pop(), args, at));
                }
                case 0x81 -> { // NEWOBJ: cls.__new__(cls, *args); our stand-ins construct directly
                    Object args = pop();
                    push(call(pop(), args, at));
                }
                case 'b' -> build(pop(), peek(), at); // BUILD
                case 'Q' -> { // BINPERSID
                    if (persistentLoad == null) throw error("unexpected persistent id at offset " + at);
                    push(persistentLoad.apply(pop()));
                }
                default -> throw error("unsupported pickle opcode " + opcodeName(op) + " at offset " + at
                        + " (only state dicts of tensors are supported)");
            }
        }
    }

    // ---- opcode helpers ----

    private Object call(Object callable, Object args, int at) {
        if (!(callable instanceof Callable c)) {
            throw error("pickle calls a non-callable " + typeName(callable) + " at offset " + at);
        }
        if (!(args instanceof List<?> a) || args instanceof ArrayList) {
            throw error("pickle call at offset " + at + " has arguments of type " + typeName(args) + ", not a tuple");
        }
        @SuppressWarnings("unchecked") List<Object> list = (List<Object>) a;
        return c.call(list);
    }

    /** BUILD sets an object's state (Python's __setstate__ / __dict__.update). */
    private void build(Object state, Object target, int at) {
        // A module's state_dict() is an OrderedDict carrying a `_metadata` attribute (per-module
        // versions). Its entries are the tensors; the attribute is irrelevant for loading, so drop it.
        if (target instanceof Map) return;
        throw error("pickle sets the state of a " + typeName(target) + " at offset " + at
                + " (only state dicts of tensors are supported)");
    }

    private void putAll(Map<Object, Object> d, List<Object> items, int at) {
        if (items.size() % 2 != 0) throw error("odd number of dict items at offset " + at);
        for (int i = 0; i < items.size(); i += 2) d.put(hashable(items.get(i), at), items.get(i + 1));
    }

    /** Python refuses unhashable keys; so do we, which also keeps self-referencing lists out of hashCode(). */
    private Object hashable(Object key, int at) {
        if (key instanceof ArrayList || key instanceof Map) {
            throw error("unhashable dict key (" + typeName(key) + ") at offset " + at);
        }
        if (key instanceof List<?> tuple) for (Object k : tuple) hashable(k, at);
        return key;
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o, int at) {
        if (o instanceof Map<?, ?> m) return (Map<Object, Object>) m;
        throw error("pickle sets an item on a " + typeName(o) + " at offset " + at);
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o, int at) {
        if (o instanceof ArrayList<?> l) return (List<Object>) l;
        throw error("pickle appends to a " + typeName(o) + " at offset " + at);
    }

    private Object memoGet(long key, int at) {
        if (!memo.containsKey(key)) throw error("memo entry " + key + " missing at offset " + at);
        return memo.get(key);
    }

    static List<Object> tuple(List<Object> items) {
        return Collections.unmodifiableList(Arrays.asList(items.toArray()));
    }

    // ---- stack ----

    private void push(Object o) { stack.add(o); }

    private Object pop() {
        int floor = marks.isEmpty() ? 0 : marks.getLast();
        if (stack.size() <= floor) throw error("pickle stack underflow at offset " + (pos - 1));
        return stack.removeLast();
    }

    private Object peek() { return peekBelow(0); }

    private Object peekBelow(int depth) {
        int floor = marks.isEmpty() ? 0 : marks.getLast();
        if (stack.size() - depth <= floor) throw error("pickle stack underflow at offset " + (pos - 1));
        return stack.get(stack.size() - 1 - depth);
    }

    private List<Object> popN(int n) {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) items[i] = pop();
        return Arrays.asList(items);
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) throw error("pickle uses a MARK that was never set, at offset " + (pos - 1));
        int m = marks.removeLast();
        List<Object> top = stack.subList(m, stack.size());
        List<Object> items = new ArrayList<>(top);
        top.clear();
        return items;
    }

    // ---- reading (every read is bounds-checked so a truncated file gives a clear error) ----

    /** Reserves n bytes and returns their start offset. */
    private int take(long n) {
        if (n < 0 || n > in.limit() - pos) {
            throw error("truncated pickle: needs " + n + " more bytes at offset " + pos + " of " + in.limit());
        }
        int at = pos;
        pos += (int) n;
        return at;
    }

    private void skip(long n) { take(n); }

    private int u8() { return in.get(take(1)) & 0xff; }

    /** A little-endian unsigned length of 4 or 8 bytes. */
    private long length(int width) {
        int at = take(width);
        long v = width == 4 ? in.getInt(at) & 0xffffffffL
                : in.getLong(at);
        if (v < 0) throw error("negative length at offset " + at);
        return v;
    }

    private byte[] bytes(long n) {
        int at = take(n);
        byte[] b = new byte[(int) n];
        in.get(at, b);
        return b;
    }

    private String string(long n, java.nio.charset.Charset cs) { return new String(bytes(n), cs); }

    /** GLOBAL's text arguments, each ended by a newline. */
    private String line() {
        int start = pos;
        while (true) {
            if (pos >= in.limit()) throw error("truncated pickle: unterminated GLOBAL at offset " + start);
            if (in.get(pos++) == '\n') break;
            if (pos - start > 1000) throw error("overlong GLOBAL name at offset " + start);
        }
        byte[] b = new byte[pos - 1 - start];
        in.get(start, b);
        return new String(b, StandardCharsets.UTF_8);
    }

    /** LONG1/LONG4 payload: little-endian two's complement. */
    private Object longFromBytes(long n) {
        byte[] le = bytes(n);
        if (le.length == 0) return 0L;
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) be[i] = le[le.length - 1 - i];
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private CheckpointException error(String message) {
        return new CheckpointException(source + ": " + message);
    }

    /** Python's name for what the pickle built, for error messages. */
    static String typeName(Object o) {
        return switch (o) {
            case null -> "None";
            case Boolean b -> "bool";
            case Long l -> "int";
            case BigInteger b -> "int";
            case Double d -> "float";
            case String str -> "str";
            case byte[] b -> "bytes";
            case ArrayList<?> l -> "list";
            case List<?> t -> "tuple";
            case Map<?, ?> m -> "dict";
            case Callable c -> "function";
            case PthTensor t -> "tensor";
            case PthStorage st -> "storage";
            default -> o.getClass().getSimpleName();
        };
    }

    /** Names the opcodes a real pickle could contain, so errors say which one we lack. */
    private static String opcodeName(int op) {
        String name = switch (op) {
            case 'I' -> "INT";
            case 'L' -> "LONG";
            case 'F' -> "FLOAT";
            case 'S' -> "STRING";
            case 'V' -> "UNICODE";
            case 'P' -> "PERSID";
            case 'p' -> "PUT";
            case 'g' -> "GET";
            case 'i' -> "INST";
            case 'o' -> "OBJ";
            case 0x82 -> "EXT1";
            case 0x83 -> "EXT2";
            case 0x84 -> "EXT4";
            case 0x8f -> "EMPTY_SET";
            case 0x90 -> "ADDITEMS";
            case 0x91 -> "FROZENSET";
            case 0x92 -> "NEWOBJ_EX";
            case 0x96 -> "BYTEARRAY8";
            case 0x97 -> "NEXT_BUFFER";
            case 0x98 -> "READONLY_BUFFER";
            default -> "unknown";
        };
        return String.format("0x%02x (%s)", op, name);
    }
}
