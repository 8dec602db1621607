/** The pass-through half of the tests' fault proxies: one request sent on to the real registry, its answer streamed back. */
import { request, type IncomingMessage, type ServerResponse } from 'node:http';

export function forward(req: IncomingMessage, res: ServerResponse, target: URL): void {
  const upstream = request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}
