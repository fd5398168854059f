/**
 * The page's own script (the inline JS of `clusterPageHtml`), run in a V8 context against a small DOM double that
 * implements just what the script uses and refuses every way of parsing text as HTML. Drives it the way the browser
 * does, through its EventSource's `onmessage`, and checks the consumer-group section it draws. (The whole page in a
 * real chromium is test/cluster/cluster-page.test.ts.)
 */
import { runInNewContext } from 'node:vm'
import { clusterView } from '@gregor/metadata'
import { describe, expect, test } from 'vitest'
import { type ClusterGroupView, type ClusterPageUpdate, clusterGroupViews } from './cluster-group-view.js'
import { clusterPageHtml } from './cluster-page-html.js'

class FakeElement {
  readonly childNodes: Array<FakeElement | FakeText> = []
  parent: FakeElement | undefined
  className = ''
  readonly dataset: Record<string, string> = {}
  readonly style: Record<string, string> = {}
  hidden = false
  title = ''
  colSpan = 1
  dateTime = ''
  readonly classList = {
    add: (...names: string[]): void => { this.className = [...new Set([...this.classes(), ...names])].join(' ') },
    remove: (...names: string[]): void => { this.className = this.classes().filter((name) => !names.includes(name)).join(' ') },
    contains: (name: string): boolean => this.classes().includes(name),
    toggle: (name: string, force?: boolean): void => {
      if (force ?? !this.classList.contains(name)) this.classList.add(name)
      else this.classList.remove(name)
    },
  }

  constructor (readonly tagName: string) {}

  classes (): string[] { return this.className.split(' ').filter((name) => name !== '') }
  get children (): FakeElement[] { return this.childNodes.filter((node): node is FakeElement => node instanceof FakeElement) }
  get lastElementChild (): FakeElement | undefined { return this.children.at(-1) }
  get textContent (): string { return this.childNodes.map((node) => node.textContent).join('') }
  set textContent (text: string) { this.replaceChildren(new FakeText(String(text))) }
  set innerHTML (_html: string) { throw new Error('the page must not parse stream data as HTML (innerHTML)') }
  set outerHTML (_html: string) { throw new Error('the page must not parse stream data as HTML (outerHTML)') }
  insertAdjacentHTML (): void { throw new Error('the page must not parse stream data as HTML (insertAdjacentHTML)') }

  append (...nodes: Array<FakeElement | FakeText>): void { for (const node of nodes) this.#adopt(node, this.childNodes.length) }
  prepend (...nodes: Array<FakeElement | FakeText>): void { nodes.forEach((node, i) => { this.#adopt(node, i) }) }
  replaceChildren (...nodes: Array<FakeElement | FakeText>): void {
    for (const node of this.childNodes) node.parent = undefined
    this.childNodes.length = 0
    this.append(...nodes)
  }

  remove (): void {
    if (this.parent === undefined) return
    this.parent.childNodes.splice(this.parent.childNodes.indexOf(this), 1)
    this.parent = undefined
  }

  /** Elements below this one, depth first, that `match`. */
  findAll (match: (element: FakeElement) => boolean): FakeElement[] {
    return this.children.flatMap((child) => [...(match(child) ? [child] : []), ...child.findAll(match)])
  }

  /** The selectors the script uses: `tag`, `.class`, `tag.class`, each optionally with `:not(.class)`. */
  querySelectorAll (selector: string): FakeElement[] {
    const parsed = /^(\w*)((?:\.[\w-]+)*)(?::not\(\.([\w-]+)\))?$/.exec(selector)
    if (parsed === null) throw new Error(`selector not supported by the DOM double: ${selector}`)
    const [, tag, classes, not] = parsed
    const wanted = (classes ?? '').split('.').filter((name) => name !== '')
    return this.findAll((element) => (tag === '' || element.tagName === tag) && wanted.every((name) => element.classList.contains(name)) &&
      (not === undefined || !element.classList.contains(not)))
  }

  querySelector (selector: string): FakeElement | null { return this.querySelectorAll(selector)[0] ?? null }

  #adopt (node: FakeElement | FakeText, index: number): void {
    if (node instanceof FakeElement) node.remove()
    node.parent = this
    this.childNodes.splice(index, 0, node)
  }
}

class FakeText {
  parent: FakeElement | undefined
  constructor (readonly textContent: string) {}
}

interface PageDouble {
  /** The element the page knows by this id. */
  byId: (id: string) => FakeElement
  /** Delivers one server-sent message, as the browser's EventSource would. */
  push: (update: ClusterPageUpdate | Omit<ClusterPageUpdate, 'groups'>) => void
}

const pageScript = (/<script>([\s\S]*)<\/script>/.exec(clusterPageHtml({ brokerId: 2, clusterId: 'test' }))?.[1]) ?? ''

function openPage (): PageDouble {
  const elements = new Map<string, FakeElement>()
  const byId = (id: string): FakeElement => {
    let element = elements.get(id)
    if (element === undefined) elements.set(id, element = new FakeElement('div'))
    return element
  }
  const sources: Array<{ onmessage?: (message: { data: string }) => void }> = []
  class EventSource {
    static readonly CLOSED = 2
    readyState = 1
    onmessage?: (message: { data: string }) => void
    onerror?: () => void
    constructor () { sources.push(this) }
  }
  const document = {
    getElementById: byId,
    createElement: (tag: string) => new FakeElement(tag),
    createTextNode: (text: string) => new FakeText(String(text)),
  }
  runInNewContext(pageScript, { document, EventSource, setInterval: () => 0, setTimeout: () => 0 })
  return {
    byId,
    push: (update) => {
      const source = sources.at(-1)
      if (source?.onmessage === undefined) throw new Error('the page opened no event stream')
      source.onmessage({ data: JSON.stringify(update) })
    },
  }
}

function update (groups: readonly ClusterGroupView[], events: ClusterPageUpdate['events'] = []): ClusterPageUpdate {
  const view = clusterView({
    timeMs: 1_700_000_000_000, clusterId: 'test', controllerId: 1, quorum: { leaderId: 1, term: 2, commitIndex: 10 },
    brokers: [{ brokerId: 1, state: 'alive' }, { brokerId: 2, state: 'alive' }],
    partitions: [{ topic: 'orders', partition: 0, leader: 1, leaderEpoch: 0, replicas: [1, 2], isr: [1, 2], highWatermark: 9 }],
  })
  return { ...view, groups: clusterGroupViews(groups), events }
}

const ordersApp: ClusterGroupView = {
  groupId: 'orders-app',
  state: 'stable',
  groupEpoch: 7,
  members: [
    { memberId: 'm-1', clientId: 'billing-1', clientHost: '/10.0.0.5', memberEpoch: 7, assignment: [{ topic: 'orders', partitions: [1, 0] }] },
    { memberId: 'm-2', clientId: 'billing-2', clientHost: '/10.0.0.6', memberEpoch: 6, assignment: [{ topic: 'orders', partitions: [2] }] },
    { memberId: 'm-3', clientId: 'billing-3', clientHost: '/10.0.0.7', memberEpoch: 7, assignment: [] },
  ],
  offsets: [
    { topic: 'orders', partition: 0, committedOffset: 90, highWatermark: 100, lag: 10 },
    { topic: 'orders', partition: 1, committedOffset: 50, highWatermark: null, lag: null },
    { topic: 'payments', partition: 0, committedOffset: 4, highWatermark: 6, lag: 2 },
  ],
}

function text (root: FakeElement, className: string): string[] {
  return root.querySelectorAll(`.${className}`).map((element) => element.textContent)
}

function groupPanels (page: PageDouble): FakeElement[] {
  return page.byId('groups').findAll((element) => element.classList.contains('group'))
}

describe('the cluster page: consumer groups', () => {
  test('the script never parses text as HTML, and the served page starts with the empty state', () => {
    expect(pageScript).toContain('function renderGroups')
    expect(pageScript).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/)
    expect(clusterPageHtml({ brokerId: 2, clusterId: 'test' })).toContain('No consumer groups coordinated by this broker.')
  })

  test('draws each group: state, epoch, members with their partitions, and per partition offset, high watermark, lag and owner', () => {
    const page = openPage()
    page.push(update([ordersApp, { groupId: 'audit', state: 'reconciling', groupEpoch: 2, members: [], offsets: [] }]))

    const panels = groupPanels(page)
    expect(panels.map((panel) => panel.dataset.group)).toEqual(['audit', 'orders-app'])
    expect(page.byId('group-count').textContent).toBe('(2)')
    const [audit, orders] = panels as [FakeElement, FakeElement]
    expect(audit.classList.contains('reconciling')).toBe(true)
    expect(text(audit, 'empty')).toEqual(['no members', 'no committed offsets and no assigned partitions'])

    expect(orders.classList.contains('stable')).toBe(true)
    expect(text(orders, 'group-state')).toEqual(['stable'])
    expect(text(orders, 'group-epoch')).toEqual(['epoch 7'])
    expect(text(orders, 'facts')[0]).toBe('epoch 7 · 3 members · total lag 12')

    const members = orders.findAll((element) => element.dataset.member !== undefined)
    expect(members.map((row) => [row.dataset.member, ...row.children.map((cell) => cell.textContent)])).toEqual([
      ['m-1', 'm-1', 'billing-1', '/10.0.0.5', '7', 'orders-0orders-1'],
      ['m-2', 'm-2', 'billing-2', '/10.0.0.6', '6', 'orders-2'],
      ['m-3', 'm-3', 'billing-3', '/10.0.0.7', '7', 'none'],
    ])
    expect(text(members[0] as FakeElement, 'chip')).toEqual(['orders-0', 'orders-1'])

    // Committed offsets and assigned partitions together: orders-2 is owned but has no committed offset yet;
    // payments-0 has a committed offset and no owner.
    const partitions = orders.findAll((element) => element.dataset.groupPartition !== undefined)
    expect(partitions.map((row) => [row.dataset.groupPartition, ...['owner', 'committed', 'hw', 'lag'].map((name) => text(row, name)[0])])).toEqual([
      ['orders-0', 'billing-1', '90', '100', '10'],
      ['orders-1', 'billing-1', '50', '–', '–'],
      ['orders-2', 'billing-2', '–', '–', '–'],
      ['payments-0', '–', '4', '6', '2'],
    ])
    expect(text(page.byId('groups'), 'empty-text')).toEqual([])
  })

  test('user-chosen group and client ids stay text', () => {
    const hostile = '<img src=x onerror="alert(1)">&amp;'
    const page = openPage()
    page.push(update([{
      ...ordersApp, groupId: hostile,
      members: [{ memberId: '"><script>alert(2)</script>', clientId: hostile, clientHost: '/10.0.0.5', memberEpoch: 7, assignment: [{ topic: 'orders', partitions: [0] }] }],
    }]))
    const [panel] = groupPanels(page)
    expect(panel?.dataset.group).toBe(hostile)
    expect(text(panel as FakeElement, 'group-id')).toEqual([hostile])
    expect(text(panel as FakeElement, 'client')).toEqual([hostile])
    expect(text(panel as FakeElement, 'member')).toEqual(['"><script>alert(2)</script>'])
    // No element was made from the text: the only img or script would have come from parsing it.
    expect(page.byId('groups').querySelectorAll('img').length + page.byId('groups').querySelectorAll('script').length).toBe(0)
  })

  test('says so when no group is coordinated here (also from a broker that sends no groups), and logs group events', () => {
    const page = openPage()
    page.push(update([ordersApp]))
    expect(groupPanels(page)).toHaveLength(1)
    page.push(update([], [
      { kind: 'group', change: 'state', timeMs: 1_700_000_000_500, groupId: 'orders-app', previous: 'reconciling', next: 'stable',
        previousGroupEpoch: 6, groupEpoch: 7, text: 'group orders-app reconciling→stable epoch 7' },
      { kind: 'group', change: 'removed', timeMs: 1_700_000_001_000, groupId: 'orders-app', text: 'group orders-app no longer coordinated here' },
    ]))
    expect(groupPanels(page)).toHaveLength(0)
    expect(text(page.byId('groups'), 'empty-text')).toEqual(['No consumer groups coordinated by this broker.'])
    expect(page.byId('group-count').textContent).toBe('')
    const events = page.byId('events').querySelectorAll('li')
    expect(events.map((item) => [item.className, item.children[1]?.textContent])).toEqual([
      ['', 'group orders-app no longer coordinated here'],
      ['good', 'group orders-app reconciling→stable epoch 7'],
    ])

    const { groups: _groups, ...withoutGroups } = update([ordersApp])
    page.push(withoutGroups)
    expect(text(page.byId('groups'), 'empty-text')).toEqual(['No consumer groups coordinated by this broker.'])
    // The rest of the page still renders.
    expect(page.byId('partitions').querySelectorAll('tr').map((row) => row.dataset.partition)).toEqual(['orders-0'])
  })
})
