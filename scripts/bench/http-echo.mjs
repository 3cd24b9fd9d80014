// Second baseline of daemon-latency: a bare node:http server answering every request with a small
// JSON body (the request body echoed back), nothing else. Prints {"type":"ready","url":...} on
// stdout when listening; exits when its stdin closes or on SIGTERM.
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8') || 'null';
    const out = `{"state":"succeeded","echo":${body}}`;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(out) });
    res.end(out);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ type: 'ready', url: `http://127.0.0.1:${server.address().port}`, pid: process.pid }) + '\n');
});
const stop = () => {
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
