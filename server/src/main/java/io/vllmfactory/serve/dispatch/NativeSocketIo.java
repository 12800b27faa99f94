package io.vllmfactory.serve.dispatch;

import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.nio.channels.SocketChannel;
import java.util.Locale;
import java.util.Optional;

/**
 * Socket reads and writes as direct {@code recv(2)} and {@code send(2)} calls on the socket's file
 * descriptor, from and into the Java arrays themselves (critical downcalls with heap access).
 *
 * <p>Why: a {@code SocketChannel} read or write takes the channel's lock, copies through a temporary
 * direct buffer and enters the kernel by {@code read(2)}/{@code write(2)}, whose file-system layer
 * costs more than a socket call. On the dispatcher's bench this was about 0.4 us of the 15 us a
 * request costs. The calls here only ever move bytes that are there: a call that would block, or
 * fails, returns -1 and the caller asks the channel, which says which it was (0, or the exception).
 *
 * <p>Available on Linux when the JVM lets this code link native functions
 * ({@code --enable-native-access=ALL-UNNAMED}) and read a channel's descriptor
 * ({@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED}); the server jar's manifest says both, for
 * {@code java -jar}. Else, or with {@code -Dvllm.factory.native-socket-io=false}, every read and write
 * goes through the channel as before, with one INFO line saying so.
 */
final class NativeSocketIo {
    private static final System.Logger LOGGER = System.getLogger(NativeSocketIo.class.getName());
    /** Property that turns the direct calls off. */
    static final String PROPERTY = "vllm.factory.native-socket-io";
    /** Linux's MSG_DONTWAIT and MSG_NOSIGNAL. */
    private static final int MSG_DONTWAIT = 0x40;
    private static final int MSG_NOSIGNAL = 0x4000;

    /** recv(2) and send(2): (int fd, Object segment, long len, int flags) -> long. */
    private static final MethodHandle RECV;
    private static final MethodHandle SEND;
    /** (byte[] array, long offset, long length) -> Object: a heap segment over part of the array. */
    private static final MethodHandle SLICE;
    private static final MethodHandle FD_VAL;
    /** Why the direct calls are off, or null when they are on. */
    static final String UNAVAILABLE;

    static {
        Linked handles = null;
        String why;
        if (!Boolean.parseBoolean(System.getProperty(PROPERTY, "true"))) {
            why = "-D" + PROPERTY + "=false";
        } else if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            why = "not Linux";
        } else {
            try {
                handles = link();
                why = handles == null ? "native access is not enabled (--enable-native-access=ALL-UNNAMED)" : null;
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                why = "cannot link recv/send, or read a channel's descriptor (--add-exports "
                      + "java.base/sun.nio.ch=ALL-UNNAMED): " + e;
            }
        }
        RECV = handles == null ? null : handles.recv();
        SEND = handles == null ? null : handles.send();
        SLICE = handles == null ? null : handles.slice();
        FD_VAL = handles == null ? null : handles.fdVal();
        UNAVAILABLE = why;
        if (why != null) {
            LOGGER.log(Level.INFO, "socket reads and writes go through the JDK's channels: " + why);
        }
    }

    /**
     * The foreign function API is final from Java 22 on, and this code is compiled for 21, so it is
     * reached by reflection once, here; the calls themselves are method handles the JIT inlines.
     *
     * @return the handles; null when native access is not enabled
     */
    private static Linked link() throws ReflectiveOperationException {
        Module module = NativeSocketIo.class.getModule();
        if (!(boolean) Module.class.getMethod("isNativeAccessEnabled").invoke(module)) {
            return null;
        }
        Class<?> linkerType = Class.forName("java.lang.foreign.Linker");
        Class<?> optionType = Class.forName("java.lang.foreign.Linker$Option");
        Class<?> descriptorType = Class.forName("java.lang.foreign.FunctionDescriptor");
        Class<?> layoutType = Class.forName("java.lang.foreign.MemoryLayout");
        Class<?> valueLayoutType = Class.forName("java.lang.foreign.ValueLayout");
        Class<?> segmentType = Class.forName("java.lang.foreign.MemorySegment");
        Class<?> lookupType = Class.forName("java.lang.foreign.SymbolLookup");

        Object linker = linkerType.getMethod("nativeLinker").invoke(null);
        Object symbols = linkerType.getMethod("defaultLookup").invoke(linker);
        Object[] args = (Object[]) Array.newInstance(layoutType, 4);
        args[0] = valueLayoutType.getField("JAVA_INT").get(null);
        args[1] = valueLayoutType.getField("ADDRESS").get(null);
        args[2] = valueLayoutType.getField("JAVA_LONG").get(null);
        args[3] = valueLayoutType.getField("JAVA_INT").get(null);
        Object descriptor = descriptorType.getMethod("of", layoutType, args.getClass())
                .invoke(null, valueLayoutType.getField("JAVA_LONG").get(null), args);
        Object[] options = (Object[]) Array.newInstance(optionType, 1);
        options[0] = optionType.getMethod("critical", boolean.class).invoke(null, true); // heap arrays, no blocking
        Method downcall = linkerType.getMethod("downcallHandle", segmentType, descriptorType, options.getClass());
        Method find = lookupType.getMethod("find", String.class);
        MethodType call = MethodType.methodType(long.class, int.class, Object.class, long.class, int.class);
        MethodHandle recv = ((MethodHandle) downcall.invoke(linker,
                ((Optional<?>) find.invoke(symbols, "recv")).orElseThrow(), descriptor, options)).asType(call);
        MethodHandle send = ((MethodHandle) downcall.invoke(linker,
                ((Optional<?>) find.invoke(symbols, "send")).orElseThrow(), descriptor, options)).asType(call);
        MethodHandles.Lookup pub = MethodHandles.publicLookup();
        MethodHandle ofArray = pub.findStatic(segmentType, "ofArray", MethodType.methodType(segmentType, byte[].class));
        MethodHandle asSlice = pub.findVirtual(segmentType, "asSlice",
                MethodType.methodType(segmentType, long.class, long.class));
        MethodHandle slice = MethodHandles.filterArguments(asSlice, 0, ofArray)
                .asType(MethodType.methodType(Object.class, byte[].class, long.class, long.class));
        MethodHandle fdVal = MethodHandles.lookup()
                .unreflect(Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal"))
                .asType(MethodType.methodType(int.class, SocketChannel.class));
        return new Linked(recv, send, slice, fdVal);
    }

    /**
     * recv and send: (int fd, Object segment, long len, int flags) -> long; slice: (byte[], long
     * offset, long length) -> a heap segment; fdVal: (SocketChannel) -> int.
     */
    private record Linked(MethodHandle recv, MethodHandle send, MethodHandle slice, MethodHandle fdVal) {
    }

    private NativeSocketIo() {
    }

    /** The channel's descriptor for {@link #recv} and {@link #send}, or -1: use the channel. */
    static int fd(SocketChannel channel) {
        if (FD_VAL == null) {
            return -1;
        }
        try {
            return (int) FD_VAL.invokeExact(channel);
        } catch (Throwable e) { // not the JDK's socket channel
            return -1;
        }
    }

    /** Reads up to {@code len} bytes into {@code b[off...]}: their number, 0 at end of stream, -1 when none came. */
    static int recv(int fd, byte[] b, int off, int len) {
        try {
            Object segment = (Object) SLICE.invokeExact(b, (long) off, (long) len);
            return (int) (long) RECV.invokeExact(fd, segment, (long) len, MSG_DONTWAIT);
        } catch (Throwable e) {
            throw new IllegalStateException("recv(2) failed to link", e);
        }
    }

    /** Writes up to {@code len} bytes of {@code b[off...]}: how many, or -1 when none could be. */
    static int send(int fd, byte[] b, int off, int len) {
        try {
            Object segment = (Object) SLICE.invokeExact(b, (long) off, (long) len);
            return (int) (long) SEND.invokeExact(fd, segment, (long) len, MSG_DONTWAIT | MSG_NOSIGNAL);
        } catch (Throwable e) {
            throw new IllegalStateException("send(2) failed to link", e);
        }
    }
}
