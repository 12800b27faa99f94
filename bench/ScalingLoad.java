import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The seed's scaling load: GLiNER-style {@code POST /pooling} bodies (texts of 10 to 150 words, 2 to 6 labels,
 * generated from a fixed seed), {@code --warmup} requests, then {@code --requests} timed ones, at
 * {@code --clients} keep-alive connections per backend: straight to the backends (the requests split evenly,
 * each backend driven by its own clients at once: the ideal), and through the dispatcher ({@code --through},
 * clients times backends connections). {@code --repeat} rounds, the two targets alternating; prints per target
 * {@code NAME rps=MEDIAN p50_ms=... p99_ms=... rounds=...}, percentiles over all timed requests.
 * Run with {@code java bench/ScalingLoad.java --through URL BACKEND_URL...} (no build needed).
 */
public final class ScalingLoad {
    private static final String[] WORDS = ("the a of and in to was for on with at by from its their has "
            + "reported announced signed opened acquired visited said joined met expanded moved launched "
            + "company office team market deal agreement plan research product year quarter city board").split(" ");
    private static final String[] NAMES = ("Apple Microsoft OpenAI Paris Berlin Tokyo Alice Bob Maria Chen "
            + "Siemens Google Amazon London Nairobi Lima Oslo Kumar Ahmed Sofia").split(" ");
    private static final String[] LABELS = ("person organization location company city date product event "
            + "country money").split(" ");

    public static void main(String[] args) throws Exception {
        String model = "bench-model";
        int clients = 32;
        int warmup = 32;
        int requests = 200;
        int repeat = 1;
        int prewarm = 0;
        URI through = null;
        List<URI> straight = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--clients" -> clients = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--requests" -> requests = Integer.parseInt(args[++i]);
                case "--repeat" -> repeat = Integer.parseInt(args[++i]);
                case "--prewarm" -> prewarm = Integer.parseInt(args[++i]);
                case "--through" -> through = URI.create(args[++i]);
                default -> straight.add(URI.create(args[i]));
            }
        }
        if (straight.isEmpty() || through == null) {
            System.err.println("usage: java bench/ScalingLoad.java [--model M] [--clients C] [--warmup W] "
                    + "[--requests R] [--repeat K] [--prewarm P] --through DISPATCHER_URL BACKEND_URL...");
            System.exit(2);
        }
        List<byte[]> bodies = bodies(model, 512, new Random(42));
        // JIT warm-up, not timed: a fresh dispatcher would otherwise pay for it in the first round
        run(straight, clients, prewarm, bodies, null);
        run(List.of(through), clients * straight.size(), prewarm, bodies, null);
        Result direct = new Result("straight", repeat);
        Result dispatched = new Result("dispatcher", repeat);
        for (int r = 0; r < repeat; r++) {
            // alternate which goes first, so a drift of the machine's speed hits both alike
            boolean straightFirst = r % 2 == 0;
            for (int k = 0; k < 2; k++) {
                if (straightFirst == (k == 0)) {
                    direct.round(r, straight, clients, warmup, requests, bodies);
                } else {
                    dispatched.round(r, List.of(through), clients * straight.size(), warmup, requests, bodies);
                }
            }
        }
        direct.print();
        dispatched.print();
    }

    /** One target's rounds: req/s of each, latencies of all timed requests. */
    private static final class Result {
        private final String name;
        private final double[] rps;
        private final List<Long> latencies = new ArrayList<>();

        Result(String name, int rounds) {
            this.name = name;
            this.rps = new double[rounds];
        }

        void round(int r, List<URI> urls, int clients, int warmup, int requests, List<byte[]> bodies)
                throws Exception {
            run(urls, clients, warmup, bodies, null);
            List<Long> timed = new ArrayList<>();
            long start = System.nanoTime();
            run(urls, clients, requests, bodies, timed);
            rps[r] = requests / ((System.nanoTime() - start) / 1e9);
            latencies.addAll(timed);
        }

        void print() {
            double[] sortedRps = rps.clone();
            Arrays.sort(sortedRps);
            long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            StringBuilder rounds = new StringBuilder();
            for (double x : rps) {
                rounds.append(rounds.isEmpty() ? "" : ",").append(String.format(Locale.ROOT, "%.1f", x));
            }
            System.out.printf(Locale.ROOT, "%s rps=%.1f p50_ms=%.3f p99_ms=%.3f rounds=%s%n", name,
                    sortedRps[sortedRps.length / 2], percentile(sorted, 0.50) / 1e6, percentile(sorted, 0.99) / 1e6,
                    rounds);
        }
    }

    /** Sends {@code total} requests split evenly over the URLs, {@code clients} connections each. */
    private static void run(List<URI> urls, int clients, int total, List<byte[]> bodies, List<Long> latencies)
            throws Exception {
        ConcurrentLinkedQueue<Long> times = new ConcurrentLinkedQueue<>();
        AtomicReference<Exception> failure = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(urls.size() * clients);
        AtomicInteger next = new AtomicInteger();
        for (int u = 0; u < urls.size(); u++) {
            URI url = urls.get(u);
            AtomicInteger left = new AtomicInteger(total / urls.size() + (u < total % urls.size() ? 1 : 0));
            for (int c = 0; c < clients; c++) {
                Thread.ofPlatform().daemon().start(() -> {
                    try (Connection connection = new Connection(url)) {
                        while (left.getAndDecrement() > 0) {
                            byte[] body = bodies.get(Math.floorMod(next.getAndIncrement(), bodies.size()));
                            long start = System.nanoTime();
                            connection.post(body);
                            times.add(System.nanoTime() - start);
                        }
                    } catch (Exception e) {
                        failure.compareAndSet(null, e);
                    } finally {
                        done.countDown();
                    }
                });
            }
        }
        done.await();
        if (failure.get() != null) {
            throw failure.get();
        }
        if (latencies != null) {
            latencies.addAll(times);
        }
    }

    private static double percentile(long[] sorted, double q) {
        return sorted.length == 0 ? Double.NaN : sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }

    /** GLiNER bodies: a text of 10..150 words with a few capitalised names, and 2..6 labels. */
    private static List<byte[]> bodies(String model, int count, Random random) {
        List<byte[]> bodies = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int words = 10 + random.nextInt(141);
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < words; w++) {
                String[] pool = random.nextInt(6) == 0 ? NAMES : WORDS;
                text.append(w == 0 ? "" : " ").append(pool[random.nextInt(pool.length)]);
            }
            List<String> labels = new ArrayList<>(List.of(LABELS));
            java.util.Collections.shuffle(labels, random);
            String labelList = String.join("\", \"", labels.subList(0, 2 + random.nextInt(5)));
            String body = "{\"model\": \"" + model + "\", \"data\": {\"text\": \"" + text + ".\", \"labels\": [\""
                    + labelList + "\"], \"threshold\": 0.5}}";
            bodies.add(body.getBytes(StandardCharsets.UTF_8));
        }
        return bodies;
    }

    /** One keep-alive HTTP/1.1 connection; an answer other than 200 or a cut one fails the run. */
    private static final class Connection implements AutoCloseable {
        private final Socket socket = new Socket();
        private final OutputStream out;
        private final InputStream in;
        private final byte[] head;

        Connection(URI url) throws IOException {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(url.getHost(), url.getPort()), 5_000);
            out = new BufferedOutputStream(socket.getOutputStream(), 16_384);
            in = new BufferedInputStream(socket.getInputStream(), 16_384);
            head = ("POST /pooling HTTP/1.1\r\nHost: " + url.getHost() + ":" + url.getPort()
                    + "\r\nContent-Type: application/json\r\nContent-Length: ").getBytes(StandardCharsets.US_ASCII);
        }

        void post(byte[] body) throws IOException {
            out.write(head);
            out.write((body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            String status = line();
            long length = -1;
            boolean chunked = false;
            for (String header = line(); !header.isEmpty(); header = line()) {
                String lower = header.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) {
                    length = Long.parseLong(lower.substring(15).trim());
                } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                    chunked = true;
                }
            }
            if (chunked) {
                for (long size = Long.parseLong(line().split(";")[0].trim(), 16); size > 0;
                     size = Long.parseLong(line().split(";")[0].trim(), 16)) {
                    skip(size);
                    line();
                }
                line();
            } else if (length >= 0) {
                skip(length);
            } else {
                throw new IOException("an answer without a length: " + status);
            }
            if (!status.startsWith("HTTP/1.1 200")) {
                throw new IOException("answered " + status);
            }
        }

        private void skip(long n) throws IOException {
            for (long left = n; left > 0; ) {
                long skipped = in.skip(left);
                if (skipped <= 0) {
                    if (in.read() < 0) {
                        throw new IOException("the answer broke off");
                    }
                    skipped = 1;
                }
                left -= skipped;
            }
        }

        private String line() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream(64);
            for (int b = in.read(); b != '\n'; b = in.read()) {
                if (b < 0) {
                    throw new IOException("the connection closed mid-answer");
                }
                if (b != '\r') {
                    line.write(b);
                }
            }
            return line.toString(StandardCharsets.ISO_8859_1);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
