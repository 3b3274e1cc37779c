// HTTP to the server: JSON, a bearer token, gzip request bodies through CompressionStream where
// the browser has it (the server inflates Content-Encoding: gzip), the server's error envelope
// {code, status, message} as a SyncError, and retries with back-off for a lost connection or a
// 5xx (every push is idempotent by its change ids; never a 4xx).
import { SyncError } from "../core/syncer.js";

const API = "/api/v1";
const GZIP_MIN = 512;

async function gzip(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export const canGzip = () => typeof CompressionStream !== "undefined";

export async function request(method, path, { token = null, body = null, retries = 2, timeoutMs = 60000 } = {}) {
  // only what the server reads: on a 64 kbit/s link a no-op sync is mostly headers
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let data = null;
  if (body !== null) {
    data = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
    if (data.length >= GZIP_MIN && canGzip()) {
      data = await gzip(data);
      headers["Content-Encoding"] = "gzip";
    }
  }
  for (let attempt = 0; ; attempt++) {
    let failure;
    try {
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), timeoutMs);
      let resp;
      try {
        resp = await fetch(API + path, { method, headers, body: data, signal: ctl.signal, cache: "no-store" });
      } finally {
        clearTimeout(timer);
      }
      const kind = (resp.headers.get("Content-Type") || "").split(";")[0].trim();
      let json = null;
      if (resp.status !== 204) {
        try {
          json = kind === "application/json" ? await resp.json() : null;
        } catch {
          json = null;
        }
      }
      if (resp.ok && resp.status === 204) return null;
      if (resp.ok && json !== null) return json;
      if (resp.ok) failure = new SyncError("the server's answer is cut short or is not JSON", { status: resp.status, code: "bad_response" });
      else {
        const env = json && typeof json === "object" ? json : {};
        const field = env.errors ? Object.keys(env.errors)[0] : null;
        failure = new SyncError(env.message || `HTTP ${resp.status}`, { status: resp.status, code: env.code || "http_error", field });
        if (resp.status < 500 && resp.status !== 429) throw failure;
      }
    } catch (err) {
      if (err instanceof SyncError && err.status >= 400 && err.status < 500 && err.status !== 429) throw err;
      failure = err instanceof SyncError ? err : new SyncError("cannot reach the server", { code: "network_error" });
    }
    if (attempt >= retries) throw failure;
    const delay = Math.min(8000, 500 * 2 ** attempt);
    await new Promise((ok) => setTimeout(ok, delay / 2 + Math.random() * delay / 2));
  }
}
