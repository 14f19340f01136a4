"use strict";
// The live page: one tile per camera, fed by the API (counts, occupancy, health, hourly counts)
// and by the crossings stream. The stream is read with fetch rather than EventSource so the
// bearer token and Last-Event-ID travel as headers. A streamed crossing triggers re-reads of the
// counts until they include it (`includes_seq`): the numbers shown always come from the
// database's exact counters, never from counting in the browser.
(() => {
  const API = "/api/v1";
  const SITE = new URLSearchParams(location.search).get("site");
  const HOURS = 12;
  const EVERY = { counts: 10000, occupancy: 2000, cameras: 5000, hourly: 60000, snapshots: 5000 };
  const tiles = new Map(); // camera id -> {el, lines, sparkline, hourly, currentHour, snapshotUrl}
  let token = tokenFromHash() || sessionStorage.getItem("camcount-token");
  let lastSeq = null; // the last crossing streamed: resume after it
  let countsTimer = null;

  function tokenFromHash() {
    const match = location.hash.match(/token=([^&]+)/);
    if (!match) return null;
    const value = decodeURIComponent(match[1]);
    sessionStorage.setItem("camcount-token", value);
    history.replaceState(null, "", location.pathname + location.search); // keep it out of the address bar
    return value;
  }

  function query(extra = {}) {
    const params = new URLSearchParams(extra);
    if (SITE) params.set("site", SITE);
    const text = params.toString();
    return text ? `?${text}` : "";
  }

  function headers(extra = {}) {
    return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
  }

  async function get(path, extra) {
    const response = await fetch(API + path, { headers: headers(extra), cache: "no-store" });
    if (response.status === 401) {
      askForToken();
      throw new Error("token required");
    }
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response;
  }

  const getJson = async (path) => (await get(path)).json();

  function askForToken() {
    const form = document.getElementById("token-form");
    if (!form.hidden) return;
    form.hidden = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      token = document.getElementById("token").value;
      sessionStorage.setItem("camcount-token", token);
      form.hidden = true;
      refreshAll();
    }, { once: true });
  }

  function setStatus(state, text) {
    const status = document.getElementById("status");
    status.dataset.state = state;
    status.textContent = text;
  }

  function tile(cameraId) {
    let entry = tiles.get(cameraId);
    if (!entry) {
      const el = document.getElementById("tile-template").content.firstElementChild.cloneNode(true);
      el.dataset.camera = cameraId;
      el.querySelector(".name").textContent = cameraId;
      document.getElementById("tiles").append(el);
      entry = { el, lines: new Map(), sparkline: null, hourly: [], currentHour: null, snapshotUrl: null };
      tiles.set(cameraId, entry);
    }
    return entry;
  }

  function lineRow(entry, lineId) {
    let row = entry.lines.get(lineId);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.line = lineId;
      for (const field of ["name", "in", "out"]) {
        const cell = document.createElement("td");
        cell.dataset.field = field;
        cell.textContent = field === "name" ? lineId : "–";
        row.append(cell);
      }
      entry.el.querySelector(".lines tbody").append(row);
      entry.lines.set(lineId, row);
    }
    return row;
  }

  function renderCameras(cameras) {
    document.getElementById("empty").hidden = cameras.length > 0;
    for (const camera of cameras) {
      const entry = tile(camera.camera_id);
      entry.el.querySelector(".name").textContent = camera.name;
      entry.el.querySelector(".site").textContent = camera.site_id;
      const health = camera.health;
      const badge = entry.el.querySelector('[data-field="status"]');
      badge.dataset.status = health.status;
      badge.textContent = health.status;
      const parts = [];
      if (health.processed_fps !== null) parts.push(`${health.processed_fps.toFixed(1)} fps`);
      if (health.quality !== null) parts.push(`quality ${Math.round(health.quality * 100)} %`);
      parts.push(health.last_frame_age_s === null ? "no frame today" : `last frame ${ago(health.last_frame_age_s)}`);
      entry.el.querySelector('[data-field="health"]').textContent = parts.join(" · ");
      for (const line of camera.lines) {
        lineRow(entry, line.line_id).title = `in: towards ${line.in_side ?? "?"} · out: towards ${line.out_side ?? "?"}`;
      }
      entry.snapshotUrl = camera.snapshot_url;
    }
  }

  function renderCounts(counts) {
    if (lastSeq !== null && counts.includes_seq < Number(lastSeq)) recount(250); // not counted yet: soon
    for (const count of counts.counts) {
      const entry = tile(count.camera_id);
      if (count.period === "day") {
        const row = lineRow(entry, count.line_id);
        row.querySelector('[data-field="in"]').textContent = count.in;
        row.querySelector('[data-field="out"]').textContent = count.out;
      }
    }
    for (const [cameraId, entry] of tiles) {
      const hour = counts.counts.filter((c) => c.camera_id === cameraId && c.period === "hour");
      entry.currentHour = hour.length
        ? { start: Date.parse(hour[0].period_start) / 1000, total: hour.reduce((n, c) => n + c.in + c.out, 0) }
        : null;
      drawSparkline(entry);
    }
  }

  function renderOccupancy(occupancy) {
    const byCamera = new Map();
    for (const zone of occupancy.zones) {
      if (!byCamera.has(zone.camera_id)) byCamera.set(zone.camera_id, []);
      byCamera.get(zone.camera_id).push(zone);
    }
    for (const [cameraId, zones] of byCamera) {
      const items = zones.map((zone) => {
        const item = document.createElement("li");
        item.dataset.zone = zone.zone_id;
        const now = document.createElement("b");
        now.dataset.field = "now";
        now.textContent = zone.now ?? "–";
        const peak = document.createElement("span");
        peak.dataset.field = "peak";
        peak.textContent = zone.peak_today ?? "–";
        item.append(`${zone.zone_id}: `, now, " inside · peak today ", peak);
        return item;
      });
      tile(cameraId).el.querySelector(".zones").replaceChildren(...items);
    }
  }

  function renderHourly(hourly) {
    const totals = new Map(); // camera -> hour start (s) -> crossings
    for (const count of hourly.counts) {
      const hours = totals.get(count.camera_id) ?? new Map();
      const start = Date.parse(count.hour_start) / 1000;
      hours.set(start, (hours.get(start) ?? 0) + count.in + count.out);
      totals.set(count.camera_id, hours);
    }
    for (const [cameraId, entry] of tiles) {
      entry.hourly = [...(totals.get(cameraId) ?? new Map())].sort((a, b) => a[0] - b[0]);
      drawSparkline(entry);
    }
  }

  function drawSparkline(entry) {
    if (!window.uPlot || entry.currentHour === null) return;
    // The last HOURS whole hours (zero where nothing crossed), then the current hour so far.
    const now = entry.currentHour.start;
    const known = new Map(entry.hourly);
    const xs = [];
    const ys = [];
    for (let h = HOURS; h >= 1; h--) {
      xs.push(now - h * 3600);
      ys.push(known.get(now - h * 3600) ?? 0);
    }
    xs.push(now);
    ys.push(entry.currentHour.total);
    const box = entry.el.querySelector(".spark");
    if (entry.sparkline) {
      entry.sparkline.setData([xs, ys]);
      return;
    }
    entry.sparkline = new uPlot({
      width: box.clientWidth, height: 70, legend: { show: false }, cursor: { show: false },
      axes: [{ show: false }, { show: false }], scales: { x: { time: true } },
      series: [{}, { stroke: "#0969da", fill: "rgba(9, 105, 218, 0.15)", width: 2, points: { show: false } }],
    }, [xs, ys], box);
    new ResizeObserver(() => entry.sparkline.setSize({ width: box.clientWidth, height: 70 })).observe(box);
  }

  async function refreshSnapshots() {
    for (const entry of tiles.values()) {
      const img = entry.el.querySelector(".snapshot img");
      const placeholder = entry.el.querySelector(".snapshot .placeholder");
      if (!entry.snapshotUrl) {
        img.hidden = true;
        placeholder.hidden = false;
        continue;
      }
      try {
        const response = await fetch(entry.snapshotUrl, { headers: headers(), cache: "no-store" });
        if (!response.ok) throw new Error(`snapshot: HTTP ${response.status}`);
        const previous = img.src;
        img.src = URL.createObjectURL(await response.blob());
        if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
        img.hidden = false;
        placeholder.hidden = true;
      } catch {
        img.hidden = true;
        placeholder.hidden = false;
      }
    }
  }

  function ago(seconds) {
    if (seconds < 90) return `${Math.round(seconds)} s ago`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
    return `${Math.round(seconds / 3600)} h ago`;
  }

  const refresh = {
    cameras: async () => renderCameras(await getJson(`/cameras${query()}`)),
    counts: async () => renderCounts(await getJson(`/counts${query()}`)),
    occupancy: async () => renderOccupancy(await getJson(`/occupancy${query()}`)),
    hourly: async () => renderHourly(await getJson(`/counts/hourly${query({ hours: HOURS })}`)),
    snapshots: refreshSnapshots,
  };

  async function refreshAll() {
    await run(refresh.cameras);
    await Promise.all([run(refresh.counts), run(refresh.occupancy), run(refresh.hourly), run(refresh.snapshots)]);
  }

  async function run(step) {
    try {
      await step();
    } catch (error) {
      console.warn(error);
    }
  }

  function onCrossing(crossing) {
    const entry = tile(crossing.camera_id);
    const at = new Date(crossing.time).toLocaleTimeString();
    entry.el.querySelector('[data-field="last-crossing"]').textContent =
      `last crossing: ${crossing.line_id}, ${crossing.direction}, at ${at}`;
    entry.el.classList.remove("flash");
    void entry.el.offsetWidth; // restart the animation
    entry.el.classList.add("flash");
    recount(150); // one read for a burst of crossings
  }

  function recount(ms) {
    clearTimeout(countsTimer);
    countsTimer = setTimeout(() => run(refresh.counts), ms);
  }

  function handleBlock(block) {
    let id = null;
    let event = "message";
    let data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data += value;
    }
    if (event !== "crossing" || !data) return;
    if (id !== null) lastSeq = id;
    onCrossing(JSON.parse(data));
  }

  async function stream() {
    for (;;) {
      try {
        const extra = { Accept: "text/event-stream" };
        if (lastSeq !== null) extra["Last-Event-ID"] = lastSeq; // resume: nothing missed, nothing twice
        const response = await get(`/crossings/stream${query()}`, extra);
        setStatus("live", "live");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            handleBlock(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch (error) {
        console.warn(error);
      }
      setStatus("reconnecting", "reconnecting…");
      await new Promise((resolve) => setTimeout(resolve, 1000));
      run(refresh.counts); // what happened meanwhile is in the counters
    }
  }

  refreshAll().then(() => {
    for (const [name, ms] of Object.entries(EVERY)) setInterval(() => run(refresh[name]), ms);
    stream();
  });
})();
