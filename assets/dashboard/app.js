// The Portus dashboard page (served by src/dashboard). Plain browser JavaScript, no build step:
// the overview tiles, the flows table (sorted, filtered and paged by the server), live uPlot
// charts for the selected flow and the aggregate, and the event log, fed by Server-Sent Events.
(() => {
  'use strict';
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).getAttribute('content');
  const token = meta('portus-token');
  const sampleMs = Number(meta('portus-sample-ms')) || 500;
  const url = (path, params = {}) => `${path}?${new URLSearchParams({ token, ...params })}`;
  const $ = (id) => document.getElementById(id);
  const MAX_POINTS = 600;
  const PAGE = 50;

  // ---- formatting -------------------------------------------------------------------------
  const esc = (s) =>
    String(s).replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
    );
  const fixed = (v, d) => (Number.isFinite(v) ? v.toFixed(d) : '–');
  const fmtBytes = (b) => (b >= 1e6 ? `${fixed(b / 1e6, 2)} MB` : `${fixed(b / 1e3, 1)} KB`);
  const fmtRate = (bps) => (bps > 0 ? `${fixed((bps * 8) / 1e6, 2)} Mbit/s` : '–');
  const fmtRtt = (us) => (us > 0 ? `${fixed(us / 1000, 2)} ms` : '–');
  const fmtAge = (s) => {
    if (s < 60) return `${Math.floor(s)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  };
  const fmtTime = (ms) => new Date(ms).toLocaleTimeString();

  // ---- overview ---------------------------------------------------------------------------
  function renderOverview(o) {
    const tiles = [
      ['uptime', fmtAge(o.uptimeS)],
      ['datapaths', String(o.datapaths)],
      ['flows', String(o.flows)],
      ['reports/s', fixed(o.reportsPerS, 0)],
      ['updates/s', fixed(o.updatesPerS, 0)],
      ['dropped', String(o.dropped)],
      ['errors', String(o.errors)],
    ];
    const box = $('overview');
    if (box.children.length !== tiles.length) {
      box.innerHTML = tiles
        .map(
          ([k]) =>
            `<div class="tile" data-k="${esc(k)}"><div class="v"></div><div class="k">${esc(k)}</div></div>`,
        )
        .join('');
    }
    tiles.forEach(([, v], i) => {
      const el = box.children[i].firstChild;
      if (el.textContent !== v) el.textContent = v;
    });
  }

  // ---- charts -----------------------------------------------------------------------------
  const SERIES = [
    { key: 'cwnd', title: 'Congestion window', unit: 'KB', scale: (v) => v / 1e3, color: '#1f77b4' },
    { key: 'rate', title: 'Pacing rate', unit: 'Mbit/s', scale: (v) => (v * 8) / 1e6, color: '#2ca02c' },
    { key: 'rtt', title: 'RTT', unit: 'ms', scale: (v) => (v > 0 ? v / 1000 : null), color: '#d62728' },
    { key: 'rps', title: 'Reports', unit: 'reports/s', scale: (v) => v, color: '#9467bd' },
  ];
  const COLS = { cwnd: 1, rate: 2, rtt: 3, rps: 4 };

  function chartGroup(el, labelPrefix) {
    const data = SERIES.map(() => [[], []]);
    const dirty = SERIES.map(() => false);
    const width = () => Math.max(280, Math.floor((el.clientWidth || 900) / 2) - 16);
    const charts = SERIES.map((s, i) => {
      const box = document.createElement('div');
      box.className = 'chart';
      el.appendChild(box);
      return new uPlot(
        {
          title: `${s.title} (${s.unit})`,
          width: width(),
          height: 180,
          scales: { x: { time: true } },
          series: [
            { label: 'time' },
            { label: `${labelPrefix} ${s.key} (${s.unit})`, stroke: s.color, width: 1.5, spanGaps: false },
          ],
          axes: [{ label: 'time' }, { label: s.unit, size: 60 }],
          legend: { show: true },
        },
        data[i],
        box,
      );
    });
    return {
      data,
      reset(cols) {
        for (let i = 0; i < SERIES.length; i++) {
          const s = SERIES[i];
          data[i][0] = cols ? cols[0].slice(-MAX_POINTS) : [];
          data[i][1] = cols ? cols[COLS[s.key]].slice(-MAX_POINTS).map(s.scale) : [];
          charts[i].setData(data[i]);
        }
      },
      push(p) {
        for (let i = 0; i < SERIES.length; i++) {
          const s = SERIES[i];
          const d = data[i];
          if (d[0].length > 0 && d[0][d[0].length - 1] >= p.t) continue;
          d[0].push(p.t);
          d[1].push(s.scale(p[s.key]));
          if (d[0].length > MAX_POINTS) {
            d[0].shift();
            d[1].shift();
          }
          dirty[i] = true;
        }
      },
      // Redrawing is what costs the browser: points arrive at the sampling rate, the charts are
      // redrawn at most once a second (and not at all while the page is hidden).
      draw() {
        for (let i = 0; i < SERIES.length; i++) {
          if (!dirty[i]) continue;
          dirty[i] = false;
          charts[i].setData(data[i]);
        }
      },
      resize() {
        for (const c of charts) c.setSize({ width: width(), height: 180 });
      },
      points: () => data[0][0].length,
    };
  }

  const agg = chartGroup($('agg-charts'), 'all flows:');
  const DRAW_MS = 1000;
  let flowCharts = null;

  // ---- flows table ------------------------------------------------------------------------
  const table = { sort: 'sid', desc: false, filter: '', offset: 0, total: 0 };
  let selected = null;

  // The table's page comes over the stream (the stream's parameters name the page: sort, filter,
  // offset); a change of any of them reconnects the stream, which answers with the new page at once.
  const tableParams = () => ({
    sort: table.sort,
    dir: table.desc ? 'desc' : 'asc',
    filter: table.filter,
    offset: table.offset,
    limit: PAGE,
  });

  function renderTable({ total, rows }) {
    table.total = total;
    if (table.offset >= total && total > 0) {
      table.offset = Math.floor((total - 1) / PAGE) * PAGE;
      connect();
      return;
    }
    $('flow-count').textContent = `(${total}${table.filter ? ' matching' : ''})`;
    $('page').textContent =
      total === 0 ? 'no flows' : `${table.offset + 1}–${Math.min(total, table.offset + PAGE)} of ${total}`;
    $('prev').disabled = table.offset === 0;
    $('next').disabled = table.offset + PAGE >= total;
    // rows and cells are reused and only changed text is written: a refresh costs the browser little
    // and a row being clicked is never replaced under the pointer
    const body = $('flows').tBodies[0];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      let tr = body.rows[i];
      if (!tr) {
        tr = body.insertRow();
        for (let c = 0; c < 10; c++) tr.insertCell();
      }
      tr.dataset.key = r.key;
      tr.className = r.key === selected ? 'sel' : '';
      const text = [
        String(r.sid),
        r.datapath,
        r.algorithm,
        r.program,
        r.tuple,
        fmtBytes(r.cwnd),
        fmtRate(r.rate),
        fmtRtt(r.rttUs),
        fixed(r.rps, 1),
        fmtAge(r.ageS),
      ];
      for (let c = 0; c < 10; c++) {
        const cell = tr.cells[c];
        if (cell.textContent !== text[c]) cell.textContent = text[c];
      }
    }
    while (body.rows.length > rows.length) body.deleteRow(-1);
    for (const th of $('flows').tHead.rows[0].cells) {
      th.classList.toggle('asc', th.dataset.k === table.sort && !table.desc);
      th.classList.toggle('desc', th.dataset.k === table.sort && table.desc);
    }
  }

  let filterTimer = null;
  function refreshTable() {
    clearTimeout(filterTimer);
    connect();
  }

  $('flows').tHead.addEventListener('click', (e) => {
    const k = e.target.closest('th')?.dataset.k;
    if (!k) return;
    table.desc = table.sort === k ? !table.desc : false;
    table.sort = k;
    refreshTable();
  });
  $('flows').tBodies[0].addEventListener('click', (e) => {
    const key = e.target.closest('tr')?.dataset.key;
    if (key) select(key).catch(showError);
  });
  $('filter').addEventListener('input', (e) => {
    table.filter = e.target.value.trim();
    table.offset = 0;
    // typing reconnects once it pauses, not at every key
    clearTimeout(filterTimer);
    filterTimer = setTimeout(refreshTable, 150);
  });
  $('prev').addEventListener('click', () => {
    table.offset = Math.max(0, table.offset - PAGE);
    refreshTable();
  });
  $('next').addEventListener('click', () => {
    if (table.offset + PAGE < table.total) table.offset += PAGE;
    refreshTable();
  });

  // ---- events -----------------------------------------------------------------------------
  const events = new Map();
  function upsertEvents(list) {
    const ol = $('events');
    for (const e of list) {
      let li = events.get(e.id);
      if (!li) {
        li = document.createElement('li');
        events.set(e.id, li);
        ol.insertBefore(li, ol.firstChild);
      }
      li.className = `ev ev-${e.kind}`;
      li.innerHTML = `<time>${esc(fmtTime(e.time))}</time> <span class="kind">${esc(e.kind)}</span> ${esc(e.text)}${e.count > 1 ? ` <span class="count">×${e.count}</span>` : ''}`;
    }
    while (ol.children.length > 300) {
      const last = ol.lastElementChild;
      for (const [id, li] of events) if (li === last) events.delete(id);
      last.remove();
    }
  }

  // ---- stream -----------------------------------------------------------------------------
  let source = null;
  function connect() {
    if (source) source.close();
    const params = tableParams();
    if (selected) params.flow = selected;
    source = new EventSource(url('/api/stream', params));
    source.addEventListener('rows', (ev) => renderTable(JSON.parse(ev.data)));
    source.addEventListener('tick', (ev) => {
      const m = JSON.parse(ev.data);
      if (m.ended) {
        $('status').textContent = `${m.ended} · final state`;
        $('status').className = 'status ended';
      } else {
        $('status').textContent = `live · ${Math.round(1000 / sampleMs)} Hz`;
        $('status').className = 'status live';
      }
      renderOverview(m.overview);
      if (m.aggregate) agg.push(m.aggregate);
      if (m.flow && flowCharts) flowCharts.push(m.flow);
      if (m.log.length > 0) upsertEvents(m.log);
      if (m.skipped > 0)
        upsertEvents([
          {
            id: `skip-${Date.now()}`,
            time: Date.now(),
            kind: 'note',
            text: `${m.skipped} more events not shown`,
            count: 1,
          },
        ]);
    });
    source.onerror = () => {
      $('status').textContent = 'disconnected (retrying)';
      $('status').className = 'status down';
    };
  }

  async function select(key) {
    selected = key;
    const res = await fetch(url('/api/history', { flow: key }));
    if (!res.ok) throw new Error(`history: HTTP ${res.status}`);
    const h = await res.json();
    $('flow-title').textContent = `Selected flow: ${key}`;
    if (!flowCharts) flowCharts = chartGroup($('flow-charts'), 'flow');
    flowCharts.reset(h.flow);
    connect();
  }

  function showError(e) {
    $('status').textContent = `error: ${e.message}`;
    $('status').className = 'status down';
  }

  async function start() {
    const res = await fetch(url('/api/history'));
    if (!res.ok) throw new Error(`history: HTTP ${res.status}`);
    const h = await res.json();
    renderOverview(h.overview);
    agg.reset(h.aggregate);
    upsertEvents(h.events);
    connect();
    setInterval(() => {
      if (document.hidden) return;
      agg.draw();
      if (flowCharts) flowCharts.draw();
    }, DRAW_MS);
  }

  window.addEventListener('resize', () => {
    agg.resize();
    if (flowCharts) flowCharts.resize();
  });
  // Read-only counters for tests and curious users (e.g. from the browser console).
  window.portusDashboard = Object.freeze({
    points: () => ({ aggregate: agg.points(), flow: flowCharts ? flowCharts.points() : 0 }),
    selected: () => selected,
  });
  start().catch(showError);
})();
