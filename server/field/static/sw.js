// The service worker: the app shell is cached when the app is installed and served from the
// cache first (refreshed in the background when there is a signal), so the app opens with no
// signal at all; GET /api/v1/config is kept too (network first), besides the copy the app holds
// in IndexedDB. Everything else (log-in, the sync exchange) goes to the network only.
const VERSION = "field-v2";
const SHELL = [
  "/field/",
  "/field/manifest.webmanifest",
  "/field/style.css",
  "/field/icons/icon-192.png",
  "/field/icons/icon-512.png",
  "/field/app/main.js",
  "/field/app/field.js",
  "/field/app/db.js",
  "/field/app/transport.js",
  "/field/app/ui.js",
  "/field/app/visit.js",
  "/field/core/checklist.js",
  "/field/core/entities.js",
  "/field/core/flags.js",
  "/field/core/hlc.js",
  "/field/core/identity.js",
  "/field/core/inputs.js",
  "/field/core/merge.js",
  "/field/core/pinyin-initials.js",
  "/field/core/pyvalue.js",
  "/field/core/replica.js",
  "/field/core/rules.js",
  "/field/core/syncer.js",
  "/field/i18n/index.js",
  "/field/i18n/zh-CN.js",
  "/field/i18n/en.js",
  "/field/vendor/idb/idb.js",
];
const CONFIG = "/api/v1/config";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

async function shellFirst(request) {
  const cache = await caches.open(VERSION);
  const key = request.mode === "navigate" ? "/field/" : request;
  const hit = await cache.match(key, { ignoreSearch: request.mode === "navigate" });
  const fresh = fetch(request).then((resp) => {
    if (resp.ok && request.mode !== "navigate") cache.put(request, resp.clone());
    else if (resp.ok) cache.put("/field/", resp.clone());
    return resp;
  }).catch(() => null);
  if (hit) {
    fresh.catch(() => {});
    return hit;
  }
  return (await fresh) || new Response("offline", { status: 503, headers: { "Content-Type": "text/plain" } });
}

async function networkFirst(request) {
  const cache = await caches.open(VERSION);
  try {
    const resp = await fetch(request);
    if (resp.ok) cache.put(CONFIG, resp.clone());
    return resp;
  } catch (err) {
    const hit = await cache.match(CONFIG);
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === CONFIG) event.respondWith(networkFirst(event.request));
  else if (url.pathname.startsWith("/field/") && url.pathname !== "/field/sw.js") event.respondWith(shellFirst(event.request));
});
