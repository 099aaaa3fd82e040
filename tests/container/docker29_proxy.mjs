// An engine in front of the Podman API service that answers like Docker 29 does: API versions below 1.44
// are refused with Docker's own message, /_ping's API-Version header and /version report 1.52 (MinAPIVersion
// 1.44 in /version), and every
// other request is passed on. Each request's method and path is appended to --log, for the test to read.
//   node docker29_proxy.mjs --listen /path/proxy.sock --upstream /path/podman.sock --log /path/requests.log
import fs from 'node:fs';
import http from 'node:http';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) =>
  (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
const MIN = [1, 44];

function tooOld(url) {
  const m = /^\/v(\d+)\.(\d+)\//.exec(url);
  return m && (Number(m[1]) < MIN[0] || (Number(m[1]) === MIN[0] && Number(m[2]) < MIN[1])) ? `${m[1]}.${m[2]}` : null;
}

const server = http.createServer((req, res) => {
  fs.appendFileSync(args.log, `${req.method} ${req.url}\n`);
  const old = tooOld(req.url);
  if (old) {
    res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ message: `client version ${old} is too old. Minimum supported API version is 1.44, please upgrade your client to a newer version` }));
    return;
  }
  if (/^(\/v[\d.]+)?\/_ping$/.test(req.url.split('?')[0])) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'API-Version': '1.52', 'Server': 'Docker/29.0.0 (linux)',
      'Docker-Experimental': 'false', 'Ostype': 'linux', 'Cache-Control': 'no-cache, no-store, must-revalidate' });
    res.end('OK');
    return;
  }
  const isVersion = /^(\/v[\d.]+)?\/version$/.test(req.url.split('?')[0]);
  const upstream = http.request({ socketPath: args.upstream, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    if (!isVersion) {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
      return;
    }
    let body = '';
    answer.on('data', (chunk) => { body += chunk; });
    answer.on('end', () => {
      const version = JSON.parse(body);
      version.ApiVersion = '1.52';
      version.MinAPIVersion = '1.44';
      const text = JSON.stringify(version);
      res.writeHead(answer.statusCode, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  upstream.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
  req.pipe(upstream);
});
try { fs.unlinkSync(args.listen); } catch {}
server.listen(args.listen, () => console.log(`docker 29 stand-in on ${args.listen}`));
process.on('SIGTERM', () => { server.close(); process.exit(0); });
