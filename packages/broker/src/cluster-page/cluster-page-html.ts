/**
 * `clusterPageHtml`: the one self-contained page served at `GET /cluster`: inline CSS and JS, no font, script or
 * image from anywhere else, so it works offline and behind any firewall.
 *
 * The page subscribes to `/cluster/events` (EventSource, which reconnects by itself) and renders each
 * `ClusterUpdate`: the quorum (controller, raft term, commit index), brokers (alive, fenced, shutting down), every
 * partition's leader, replicas, ISR, leader epoch and high watermark, the consumer groups this broker coordinates
 * (state, group epoch, members with their assignment, per partition the committed offset, high watermark and lag),
 * and a scrolling event log. When the stream
 * breaks it says "disconnected from broker N" at the top and greys out the last state it had until the broker is
 * back. It builds the DOM with `textContent` only: nothing from the stream is ever parsed as HTML.
 *
 * Stable hooks for tests and scripts: `#status[data-state]` (`live` | `stale` | `disconnected`), one
 * `tr[data-partition="topic-N"]` per partition with `td.leader`, `td.isr`, `td.hw`; one `#groups
 * .group[data-group="id"]` per group with `.group-state`, `.group-epoch`, `tr[data-member="memberId"]` (`td.client`,
 * `td.host`, `td.assignment`) and `tr[data-group-partition="topic-N"]` (`td.owner`, `td.committed`, `td.hw`,
 * `td.lag`); and `#events li`.
 */

/** The page for broker `brokerId` (shown in the title and in the disconnection notice). */
export function clusterPageHtml (page: { readonly brokerId: number; readonly clusterId: string }): string {
  const brokerId = String(Math.trunc(page.brokerId))
  const clusterId = escapeHtml(page.clusterId)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gregor · ${clusterId} · broker ${brokerId}</title>
<style>${css}</style>
</head>
<body>
<header>
  <div class="brand"><span class="logo">▮▮▮</span> Gregor <span class="muted">cluster</span> <b id="cluster-id">${clusterId}</b></div>
  <div id="status" data-state="connecting"><span class="dot"></span><span id="status-text">connecting to broker ${brokerId}…</span></div>
</header>
<div id="banner" hidden></div>
<main id="main">
  <section class="cards">
    <div class="card"><div class="label">controller</div><div class="value" id="controller">–</div></div>
    <div class="card"><div class="label">raft term</div><div class="value" id="term">–</div></div>
    <div class="card"><div class="label">commit index</div><div class="value" id="commit">–</div></div>
    <div class="card"><div class="label">partitions</div><div class="value" id="partition-count">–</div><div class="sub" id="partition-health"></div></div>
  </section>
  <section>
    <h2>Brokers</h2>
    <div id="brokers" class="brokers"></div>
  </section>
  <section>
    <h2>Partitions</h2>
    <table>
      <thead><tr><th>topic</th><th class="num">partition</th><th class="num">leader</th><th class="num">leader epoch</th>
        <th>replicas</th><th>isr</th><th class="num">high watermark</th><th>status</th></tr></thead>
      <tbody id="partitions"><tr class="empty"><td colspan="8">no topics yet</td></tr></tbody>
    </table>
    <p class="note">High watermark as broker ${brokerId} knows it: exact where it leads; where it follows, the leader's
      as of its last fetch; – where it holds no replica.</p>
  </section>
  <section>
    <h2>Consumer groups <span class="muted" id="group-count"></span></h2>
    <div id="groups" class="groups"><p class="empty-text">No consumer groups coordinated by this broker.</p></div>
    <p class="note">The groups whose coordinator is broker ${brokerId} (it leads their partition of __consumer_offsets).
      Lag is the high watermark as broker ${brokerId} knows it minus the committed offset; – where it does not know it.</p>
  </section>
  <section>
    <h2>Events <span class="muted" id="event-count"></span></h2>
    <ol id="events" class="events"><li class="empty">no change seen yet</li></ol>
  </section>
</main>
<footer>served by broker ${brokerId} · <span id="updated">waiting for the first update</span></footer>
<script>
const SERVED_BY = ${brokerId};
${script}
</script>
</body>
</html>
`
}

function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)
}

const css = `
:root { --bg: #f6f7f9; --panel: #fff; --ink: #1d2430; --muted: #6b7482; --line: #e3e6eb; --green: #1f8a4c;
  --green-bg: #e4f5ea; --red: #c62b2b; --red-bg: #fdeaea; --amber: #a86400; --amber-bg: #fff3dc; --blue: #2856c7; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; justify-content: space-between; align-items: center; padding: 14px 28px; background: var(--panel);
  border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 1; }
.brand { font-size: 17px; font-weight: 600; }
.logo { color: var(--blue); letter-spacing: -3px; margin-right: 6px; }
.muted { color: var(--muted); font-weight: 400; }
#status { display: flex; align-items: center; gap: 8px; font-size: 13px; padding: 4px 12px; border-radius: 999px; background: var(--bg); }
#status .dot { width: 9px; height: 9px; border-radius: 50%; background: var(--muted); }
#status[data-state="live"] .dot { background: var(--green); box-shadow: 0 0 0 3px var(--green-bg); }
#status[data-state="stale"] { background: var(--amber-bg); color: var(--amber); }
#status[data-state="stale"] .dot { background: var(--amber); }
#status[data-state="disconnected"] { background: var(--red-bg); color: var(--red); font-weight: 600; }
#status[data-state="disconnected"] .dot { background: var(--red); }
#banner { margin: 16px 28px 0; padding: 12px 16px; border-radius: 8px; background: var(--red-bg); color: var(--red);
  border: 1px solid #f3c4c4; font-weight: 600; }
main { padding: 8px 28px 24px; max-width: 1200px; }
main.stale { opacity: .45; filter: grayscale(1); transition: opacity .3s; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 24px 0 10px; }
.cards { display: grid; grid-template-columns: repeat(4, minmax(140px, 1fr)); gap: 12px; margin-top: 16px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .sub { font-size: 12px; color: var(--muted); min-height: 1.2em; }
.brokers { display: flex; gap: 10px; flex-wrap: wrap; }
.broker { display: flex; align-items: center; gap: 10px; background: var(--panel); border: 1px solid var(--line);
  border-left: 4px solid var(--green); border-radius: 8px; padding: 8px 14px; min-width: 170px; }
.broker .id { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.broker .state { font-size: 12px; font-weight: 600; color: var(--green); text-transform: uppercase; letter-spacing: .04em; }
.broker .tags { font-size: 11px; color: var(--muted); }
.broker.fenced { border-left-color: var(--red); background: var(--red-bg); }
.broker.fenced .state { color: var(--red); }
.broker.shutting-down { border-left-color: var(--amber); background: var(--amber-bg); }
.broker.shutting-down .state { color: var(--amber); }
table { width: 100%; border-collapse: collapse; background: var(--panel); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
th, td { padding: 7px 12px; text-align: left; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-size: 12px; font-weight: 600; color: var(--muted); background: #fafbfc; }
td { font-variant-numeric: tabular-nums; }
.num { text-align: right; }
tr:last-child td { border-bottom: none; }
tr.empty td { color: var(--muted); text-align: center; }
td.leader { font-weight: 700; }
tr.offline { background: var(--red-bg); }
tr.offline td.leader, tr.offline td.status { color: var(--red); }
tr.under-replicated td.isr, tr.under-replicated td.status { color: var(--amber); font-weight: 600; }
.replica { display: inline-block; min-width: 22px; padding: 0 5px; margin-right: 3px; border-radius: 4px; text-align: center;
  background: var(--bg); border: 1px solid var(--line); font-size: 12px; }
.replica.is-leader { border-color: var(--blue); color: var(--blue); font-weight: 700; }
.replica.out { color: var(--red); border-style: dashed; text-decoration: line-through; }
.changed { animation: flash 1.6s ease-out; }
@keyframes flash { from { background: #fff2a8; } to { background: transparent; } }
.note { color: var(--muted); font-size: 12px; margin: 8px 2px; }
.empty-text { color: var(--muted); background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; margin: 0; text-align: center; }
.group { background: var(--panel); border: 1px solid var(--line); border-left: 4px solid var(--muted); border-radius: 10px;
  margin-bottom: 12px; overflow: hidden; }
.group.stable { border-left-color: var(--green); }
.group.assigning, .group.reconciling { border-left-color: var(--amber); }
.group.dead { border-left-color: var(--red); }
.group-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; padding: 10px 14px; }
.group-id { font-size: 16px; font-weight: 600; overflow-wrap: anywhere; }
.group-state { font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.group.stable .group-state { color: var(--green); }
.group.assigning .group-state, .group.reconciling .group-state { color: var(--amber); }
.group.dead .group-state { color: var(--red); }
.group-head .facts { color: var(--muted); font-size: 13px; font-variant-numeric: tabular-nums; }
.group table { border: none; border-top: 1px solid var(--line); border-radius: 0; }
.group td.member, .group td.client, .group td.host { white-space: normal; overflow-wrap: anywhere; }
.chip { display: inline-block; padding: 0 6px; margin: 1px 3px 1px 0; border-radius: 4px; background: var(--bg);
  border: 1px solid var(--line); font-size: 12px; white-space: nowrap; }
.events { list-style: none; margin: 0; padding: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 10px;
  max-height: 320px; overflow-y: auto; font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.events li { padding: 5px 14px; border-bottom: 1px solid var(--line); display: flex; gap: 16px; }
.events li:last-child { border-bottom: none; }
.events li.empty { color: var(--muted); font-family: system-ui, sans-serif; }
.events time { color: var(--muted); }
.events li.bad { color: var(--red); }
.events li.good { color: var(--green); }
.events li.quorum { color: var(--blue); }
footer { padding: 12px 28px 28px; color: var(--muted); font-size: 12px; }
`

// Plain browser JavaScript (ES2017), kept free of backticks and template placeholders so it can live in this string.
const script = `
'use strict';
const $ = (id) => document.getElementById(id);
const seen = new Set();
let previous = new Map();
let lastUpdateMs = 0;
let lastViewMs = 0;
let connected = false;
let source;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
function clock(ms) {
  const d = new Date(ms);
  const two = (n) => String(n).padStart(2, '0');
  return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds()) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}
function brokerName(id) { return id < 0 ? 'none' : String(id); }

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status-text').textContent = text;
  const banner = $('banner');
  if (state === 'disconnected') {
    banner.hidden = false;
    banner.textContent = 'Disconnected from broker ' + SERVED_BY + '. Reconnecting… ' +
      (lastViewMs > 0 ? 'What you see is the state as of ' + clock(lastViewMs) + '.' : '');
  } else {
    banner.hidden = true;
  }
  $('main').classList.toggle('stale', state === 'disconnected');
}

function render(update) {
  lastUpdateMs = Date.now();
  lastViewMs = update.timeMs;
  connected = true;
  setStatus('live', 'live from broker ' + SERVED_BY);
  $('cluster-id').textContent = update.clusterId;
  $('controller').textContent = brokerName(update.controllerId);
  $('controller').style.color = update.controllerId < 0 ? 'var(--red)' : '';
  $('term').textContent = String(update.quorum.term);
  $('commit').textContent = update.quorum.commitIndex === null ? '–' : String(update.quorum.commitIndex);
  renderBrokers(update);
  renderPartitions(update.partitions);
  renderGroups(update.groups || []);
  renderEvents(update.events);
  $('updated').textContent = 'updated ' + clock(update.timeMs);
}

function renderBrokers(update) {
  const box = $('brokers');
  box.replaceChildren();
  if (update.brokers.length === 0) box.append(el('span', 'muted', 'no broker registered yet'));
  for (const broker of update.brokers) {
    const card = el('div', 'broker ' + broker.state);
    card.dataset.broker = String(broker.brokerId);
    card.append(el('span', 'id', String(broker.brokerId)));
    const text = el('div');
    text.append(el('div', 'state', broker.state.replace('-', ' ')));
    const tags = [];
    if (broker.brokerId === update.controllerId) tags.push('controller');
    if (broker.brokerId === SERVED_BY) tags.push('serving this page');
    text.append(el('div', 'tags', tags.join(' · ')));
    card.append(text);
    box.append(card);
  }
}

function status(p) {
  if (p.leader < 0) return 'offline';
  return p.isr.length < p.replicas.length ? 'under-replicated' : 'ok';
}

function renderPartitions(partitions) {
  const body = $('partitions');
  body.replaceChildren();
  let offline = 0;
  let under = 0;
  const next = new Map();
  for (const p of partitions) {
    const name = p.topic + '-' + p.partition;
    const state = status(p);
    if (state === 'offline') offline++;
    if (state === 'under-replicated') under++;
    const row = el('tr', state === 'ok' ? '' : state);
    row.dataset.partition = name;
    row.append(el('td', 'topic', p.topic), el('td', 'num', String(p.partition)),
      el('td', 'num leader', brokerName(p.leader)), el('td', 'num epoch', String(p.leaderEpoch)));
    const replicas = el('td', 'replicas');
    for (const id of p.replicas) {
      const chip = el('span', 'replica', String(id));
      if (id === p.leader) chip.classList.add('is-leader');
      if (!p.isr.includes(id)) { chip.classList.add('out'); chip.title = 'not in the ISR'; }
      replicas.append(chip);
    }
    row.append(replicas, el('td', 'isr', p.isr.join(',')),
      el('td', 'num hw', p.highWatermark === null ? '–' : String(p.highWatermark)),
      el('td', 'status', state === 'ok' ? '' : state));
    const before = previous.get(name);
    if (before !== undefined && (before.leader !== p.leader || before.isr.join() !== p.isr.join())) row.classList.add('changed');
    next.set(name, p);
    body.append(row);
  }
  previous = next;
  if (partitions.length === 0) {
    const row = el('tr', 'empty');
    const cell = el('td', '', 'no topics yet');
    cell.colSpan = 8;
    row.append(cell);
    body.append(row);
  }
  $('partition-count').textContent = String(partitions.length);
  const health = [];
  if (offline > 0) health.push(offline + ' offline');
  if (under > 0) health.push(under + ' under-replicated');
  $('partition-health').textContent = health.length === 0 ? (partitions.length > 0 ? 'all fully replicated' : '') : health.join(' · ');
  $('partition-health').style.color = offline > 0 ? 'var(--red)' : under > 0 ? 'var(--amber)' : 'var(--green)';
}

function cell(tag, className, text, colSpan) {
  const node = el(tag, className, text);
  if (colSpan) node.colSpan = colSpan;
  return node;
}
function table(headings, numeric) {
  const node = el('table');
  const head = el('tr');
  headings.forEach((text, i) => head.append(el('th', numeric.includes(i) ? 'num' : '', text)));
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  node.append(thead, body);
  return { node, body };
}
function emptyRow(body, text, columns) {
  const row = el('tr', 'empty');
  row.append(cell('td', '', text, columns));
  body.append(row);
}
function number(value) { return value === null || value === undefined ? '–' : String(value); }

let previousGroups = new Map();

function renderGroups(groups) {
  const box = $('groups');
  box.replaceChildren();
  const next = new Map();
  for (const group of groups) {
    // Who owns each partition, from the members' assignments (a partition with no committed offset yet still shows).
    const owners = new Map();
    for (const member of group.members) {
      for (const owned of member.assignment) {
        for (const partition of owned.partitions) {
          const name = owned.topic + '-' + partition;
          if (!owners.has(name)) owners.set(name, []);
          owners.get(name).push(member);
        }
      }
    }
    const rows = new Map();
    for (const offset of group.offsets) rows.set(offset.topic + '-' + offset.partition, offset);
    for (const name of owners.keys()) {
      if (rows.has(name)) continue;
      const at = name.lastIndexOf('-');
      rows.set(name, { topic: name.slice(0, at), partition: Number(name.slice(at + 1)), committedOffset: null, highWatermark: null, lag: null });
    }
    const partitions = [...rows.entries()].sort((a, b) =>
      a[1].topic < b[1].topic ? -1 : a[1].topic > b[1].topic ? 1 : a[1].partition - b[1].partition);

    const panel = el('div', 'group ' + group.state);
    panel.dataset.group = group.groupId;
    const head = el('div', 'group-head');
    let lag = 0;
    let lagKnown = false;
    for (const offset of group.offsets) if (offset.lag !== null) { lag += offset.lag; lagKnown = true; }
    const facts = el('span', 'facts');
    facts.append(el('span', 'group-epoch', 'epoch ' + group.groupEpoch), document.createTextNode(' · ' +
      group.members.length + (group.members.length === 1 ? ' member' : ' members') +
      ' · total lag ' + (lagKnown ? String(lag) : '–')));
    head.append(el('span', 'group-id', group.groupId), el('span', 'group-state', group.state), facts);
    const before = previousGroups.get(group.groupId);
    if (before !== undefined && (before.state !== group.state || before.groupEpoch !== group.groupEpoch)) head.classList.add('changed');
    panel.append(head);

    const members = table(['member id', 'client id', 'host', 'member epoch', 'assigned partitions'], [3]);
    for (const member of group.members) {
      const row = el('tr');
      row.dataset.member = member.memberId;
      const assignment = el('td', 'assignment');
      for (const owned of member.assignment) {
        for (const partition of owned.partitions) assignment.append(el('span', 'chip', owned.topic + '-' + partition));
      }
      if (assignment.children.length === 0) assignment.append(el('span', 'muted', 'none'));
      row.append(el('td', 'member', member.memberId), el('td', 'client', member.clientId), el('td', 'host', member.clientHost),
        el('td', 'num epoch', String(member.memberEpoch)), assignment);
      if (before !== undefined && !before.members.has(member.memberId)) row.classList.add('changed');
      members.body.append(row);
    }
    if (group.members.length === 0) emptyRow(members.body, 'no members', 5);
    panel.append(members.node);

    const offsets = table(['topic', 'partition', 'owner', 'committed offset', 'high watermark', 'lag'], [1, 3, 4, 5]);
    const ownerNames = new Map();
    for (const [name, offset] of partitions) {
      const row = el('tr');
      row.dataset.groupPartition = name;
      const owner = (owners.get(name) || []).map((member) => member.clientId || member.memberId).join(', ');
      const ownerCell = el('td', 'owner', owner === '' ? '–' : owner);
      ownerCell.title = (owners.get(name) || []).map((member) => member.memberId).join(', ');
      row.append(el('td', 'topic', offset.topic), el('td', 'num', String(offset.partition)), ownerCell,
        el('td', 'num committed', number(offset.committedOffset)), el('td', 'num hw', number(offset.highWatermark)),
        el('td', 'num lag', number(offset.lag)));
      if (before !== undefined && before.owners.has(name) && before.owners.get(name) !== ownerCell.title) row.classList.add('changed');
      ownerNames.set(name, ownerCell.title);
      offsets.body.append(row);
    }
    if (partitions.length === 0) emptyRow(offsets.body, 'no committed offsets and no assigned partitions', 6);
    panel.append(offsets.node);

    next.set(group.groupId, { state: group.state, groupEpoch: group.groupEpoch, members: new Set(group.members.map((m) => m.memberId)), owners: ownerNames });
    box.append(panel);
  }
  previousGroups = next;
  if (groups.length === 0) box.append(el('p', 'empty-text', 'No consumer groups coordinated by this broker.'));
  $('group-count').textContent = groups.length > 0 ? '(' + groups.length + ')' : '';
}

function eventClass(event) {
  if (event.kind === 'group') {
    if (event.change === 'state' && event.next === 'stable') return 'good';
    return event.change === 'state' && event.next === 'dead' ? 'bad' : '';
  }
  if (event.kind === 'broker') return event.next === 'alive' ? 'good' : 'bad';
  if (event.kind === 'leader' && event.next < 0) return 'bad';
  if (event.kind === 'controller' || event.kind === 'term') return 'quorum';
  return '';
}

function renderEvents(events) {
  const list = $('events');
  for (const event of events) {
    // A reconnect replays the broker's recent events: show each once.
    const key = event.timeMs + ' ' + event.text;
    if (seen.has(key)) continue;
    seen.add(key);
    const empty = list.querySelector('.empty');
    if (empty) empty.remove();
    const item = el('li', eventClass(event));
    const time = el('time', '', clock(event.timeMs));
    time.dateTime = new Date(event.timeMs).toISOString();
    item.append(time, el('span', '', event.text));
    list.prepend(item);
  }
  while (list.children.length > 500) list.lastElementChild.remove();
  const count = list.querySelectorAll('li:not(.empty)').length;
  $('event-count').textContent = count > 0 ? '(' + count + ', newest first)' : '';
}

function connect() {
  source = new EventSource('/cluster/events');
  source.onmessage = (message) => render(JSON.parse(message.data));
  source.onerror = () => {
    connected = false;
    setStatus('disconnected', 'disconnected from broker ' + SERVED_BY);
    // EventSource retries by itself while CONNECTING; after a refusal (503) it gives up, so start over.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
  };
}

setInterval(() => {
  if (connected && Date.now() - lastUpdateMs > 3500) {
    setStatus('stale', 'no update from broker ' + SERVED_BY + ' for ' + Math.round((Date.now() - lastUpdateMs) / 1000) + ' s');
  }
}, 1000);
connect();
`
