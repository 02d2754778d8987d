/**
 * A small TCP load balancer for tests: each incoming connection is piped, byte for byte, to the
 * next backend in turn. A backend that refuses the connection (a killed process) is skipped and
 * the next one tried; when none answers, the client's connection is dropped. It knows nothing of
 * the protocol, so HTTP/1.1 and cleartext HTTP/2 (Restate ↔ worker) both pass through; a
 * connection lives on one backend for its whole life, and dies with it.
 */
import net from "node:net";

export interface Backend {
  host?: string;
  port: number;
}

export interface TcpBalancer {
  port: number;
  /** `http://host:port`, for whoever talks HTTP through the balancer. */
  url: string;
  /** Connections piped to each backend right now, by backend port. */
  activeConnections(): Map<number, number>;
  /** Connections ever piped to each backend, by backend port. */
  totalConnections(): Map<number, number>;
  close(): Promise<void>;
}

export async function startTcpBalancer(opts: {
  backends: Backend[];
  port: number;
  host?: string;
  /** How long one backend may take to accept before the next one is tried. */
  connectTimeoutMs?: number;
}): Promise<TcpBalancer> {
  if (opts.backends.length === 0) throw new Error("a balancer needs at least one backend");
  const host = opts.host ?? "127.0.0.1";
  const connectTimeoutMs = opts.connectTimeoutMs ?? 2_000;
  const active = new Map<number, number>(opts.backends.map((b) => [b.port, 0]));
  const total = new Map<number, number>(opts.backends.map((b) => [b.port, 0]));
  const sockets = new Set<net.Socket>();
  let next = 0;

  const track = (s: net.Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };

  /** Connects to the first backend that accepts, starting at the round-robin position. */
  const connectUpstream = (startAt: number, attempt = 0): Promise<{ socket: net.Socket; backend: Backend } | null> => {
    if (attempt >= opts.backends.length) return Promise.resolve(null);
    const backend = opts.backends[(startAt + attempt) % opts.backends.length] as Backend;
    return new Promise((resolve) => {
      const socket = net.connect({ host: backend.host ?? "127.0.0.1", port: backend.port });
      const timer = setTimeout(() => socket.destroy(new Error("connect timeout")), connectTimeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        socket.on("error", () => socket.destroy()); // until the caller wires its own handling
        resolve({ socket, backend });
      });
      socket.once("error", () => {
        clearTimeout(timer);
        socket.destroy();
        resolve(connectUpstream(startAt, attempt + 1));
      });
    });
  };

  // pauseOnConnect: nothing the client sends is read until the upstream connection exists.
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    client.setNoDelay(true);
    let clientGone = false;
    client.once("close", () => (clientGone = true));
    client.on("error", () => client.destroy());
    const startAt = next;
    next = (next + 1) % opts.backends.length;
    void connectUpstream(startAt).then((up) => {
      if (!up) return void client.destroy();
      const { socket: upstream, backend } = up;
      if (clientGone) return void upstream.destroy();
      track(upstream);
      upstream.setNoDelay(true);
      active.set(backend.port, (active.get(backend.port) ?? 0) + 1);
      total.set(backend.port, (total.get(backend.port) ?? 0) + 1);
      // Either side going away (a clean close, a reset, a killed process) ends the other one too.
      const teardown = () => {
        client.destroy();
        upstream.destroy();
      };
      upstream.on("error", teardown);
      client.on("error", teardown);
      upstream.once("close", teardown);
      client.once("close", teardown);
      upstream.once("close", () => active.set(backend.port, (active.get(backend.port) ?? 1) - 1));
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });

  return {
    port: opts.port,
    url: `http://${host}:${opts.port}`,
    activeConnections: () => new Map(active),
    totalConnections: () => new Map(total),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
