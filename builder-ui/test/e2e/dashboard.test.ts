import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { eventually } from '../../../engine/test/engine-harness.ts';
import { DAY, enrolSignups, postBatches, yearOfEvents } from '../../../engine/test/kpis/year.ts';
import { seriousViolations } from './axe.ts';
import { describeE2e, endE2eTest, newPage, screenshot, signIn, startE2e, stopE2e, type E2eServer } from './harness.ts';

const CONTACTS = 2000;

/** A CSV file (no quoted fields in this data set) as objects keyed by its header. */
function parseCsv(text: string): Record<string, string>[] {
  const [head, ...rows] = text.trimEnd().split('\r\n').map((l) => l.split(','));
  return rows.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i] ?? ''])));
}
/** A figure of the API as the CSV must write it: the number itself, or an empty field for null. */
const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** Issue 13 deliver 3 / acceptance "Dashboard e2e": tiles and charts render with generated data; CSV export matches the API. */
describeE2e('builder UI end to end: KPI dashboard', () => {
  let server: E2eServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ server, browser } = await startE2e());
    const h = server.h;
    await postBatches(h, yearOfEvents({ contacts: CONTACTS, seed: 7, now: Date.now(), plans: true }));
    const { nurtureId } = await enrolSignups(h, CONTACTS, 240_000);
    // A quarter of the contacts convert (both arms): conversions, a holdout rate and a lift with an interval.
    const goals = Array.from({ length: CONTACTS }, (_, i) => i).filter((i) => i % 4 === 0).map((i) => ({ type: 'trial.converted', contact: { email: `c${i}@example.com` } }));
    await postBatches(h, goals);
    await eventually(async () => Number((await h.t.db.raw(`SELECT count(*) AS n FROM runs WHERE workspace_id = ? AND flow_id = ? AND status = 'converted'`, [h.workspaceId, nurtureId])).rows[0].n) > 0 || undefined, 60_000, 500);
    expect((await h.call('POST', '/v1/segments', { key: 'pro', name: 'Pro plan', rule: { all: [{ fact: 'contact', path: '$.properties.plan', operator: 'equal', value: 'pro' }] } })).status).toBe(201);
    await eventually(async () => (await h.call('GET', '/v1/segments/pro')).body.member_count > 0 || undefined, 60_000, 500);
    // Lifecycle stages for the funnel: 40 contacts moved along it.
    const stages = ['subscriber', 'lead', 'marketing_qualified_lead', 'sales_qualified_lead', 'opportunity', 'customer', 'evangelist'];
    for (let i = 0; i < 40; i++) {
      const c = (await h.call('GET', `/v1/contacts?email=c${i}@example.com`)).body.items[0];
      expect((await h.call('PATCH', `/v1/contacts/${c.id}`, { lifecycle_stage: stages[i % stages.length] })).status).toBe(200);
    }
    await h.t.db.raw('ANALYZE events, runs, run_steps, contact_activity');
  }, 600_000);

  afterEach((ctx) => endE2eTest(ctx, page, { closePage: true }));

  afterAll(() => stopE2e(browser, server));

  /** Opens the dashboard (or changes a filter) and returns the KPI answer the page asked for, fetched again through the API. */
  async function kpisShown(act: () => Promise<unknown>, check: (url: URL) => boolean = () => true) {
    const [res] = await Promise.all([
      // The current period ends at the next UTC midnight; the tiles' trend asks for the period before it too.
      page.waitForResponse((r) => {
        const u = new URL(r.url());
        return u.pathname === '/v1/kpis' && Date.parse(u.searchParams.get('to') ?? '') > Date.now() && check(u);
      }, { timeout: 60_000 }),
      act(),
    ]);
    const url = new URL(res.url());
    const api = await server.h.call('GET', `${url.pathname}${url.search}`);
    expect(api.status).toBe(200);
    return { url, kpis: api.body };
  }

  /** Every chart canvas has been drawn on (not blank) and has a size. */
  async function chartsDrawn(): Promise<Record<string, boolean>> {
    return page.evaluate(() => Object.fromEntries([...document.querySelectorAll('section.chart-card')].map((s) => {
      const c = s.querySelector('canvas');
      if (!c) return [s.getAttribute('aria-label'), false];
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let ink = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) ink++;
      return [s.getAttribute('aria-label'), c.width > 100 && c.height > 100 && ink > 500];
    })));
  }

  async function downloadCsv(title: string): Promise<string> {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Download CSV: ${title}` }).click()]);
    return readFileSync((await dl.path())!, 'utf8');
  }

  it('tiles and charts render the generated data; every CSV equals GET /v1/kpis; a flow without a goal shows no figure', async () => {
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    const { url, kpis } = await kpisShown(() => page.getByRole('link', { name: 'Dashboard' }).click(), (u) => !u.searchParams.has('segment'));
    expect(url.searchParams.get('interval')).toBe('day');
    const period = Date.parse(url.searchParams.get('to')!) - Date.parse(url.searchParams.get('from')!);
    expect(period).toBe(30 * DAY);
    expect(kpis.revenue).toBeGreaterThan(0);
    expect(kpis.nps_responses).toBeGreaterThan(0);

    // Tiles: the API's figures, formatted; an absent one is a dash, never 0.
    const tiles = page.getByRole('region', { name: 'Key figures' });
    const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
    await expect.poll(() => tiles.getByRole('group', { name: 'Churn rate' }).locator('.kpi-value').textContent()).toBe(kpis.churn_rate === null ? '—' : pct(kpis.churn_rate));
    expect(await tiles.getByRole('group', { name: 'NPS' }).locator('.kpi-value').textContent()).toBe(kpis.nps.toFixed(1));
    expect(await tiles.getByRole('group', { name: 'CSAT' }).locator('.kpi-value').textContent()).toBe(`${kpis.csat.toFixed(1)}%`);
    expect(await tiles.getByRole('group', { name: 'Revenue' }).locator('.kpi-value').textContent()).toBe(kpis.revenue.toLocaleString('en-US', { maximumFractionDigits: 2 }));
    // Trend against the previous 30 days: a second question to the API, drawn under each tile.
    await tiles.getByRole('group', { name: 'Revenue' }).getByText(/vs previous period|same as the previous period/).waitFor();

    // Conversion by flow: the flow without a goal says "No goal", never 0.0%.
    const table = page.getByRole('table', { name: 'Conversion by flow' });
    const nurtureRow = kpis.flows.find((f: { name: string }) => f.name === 'Trial nurture');
    const welcomeRow = kpis.flows.find((f: { name: string }) => f.name === 'Welcome (no goal)');
    expect(welcomeRow.conversion_rate).toBeNull();
    expect(nurtureRow.lift).not.toBeNull();
    await table.getByRole('row', { name: /Welcome \(no goal\)/ }).getByText('No goal', { exact: true }).waitFor();
    expect(await table.getByRole('row', { name: /Welcome \(no goal\)/ }).textContent()).not.toMatch(/0\.0%/);
    await table.getByRole('row', { name: /Trial nurture/ }).getByText(pct(nurtureRow.conversion_rate)).waitFor();
    await table.getByRole('row', { name: /Trial nurture/ }).getByText(/95%: /).waitFor();

    await expect.poll(chartsDrawn, { timeout: 15_000 }).toEqual({
      'Conversion by flow': true, 'Lift over holdout (95% interval)': true, 'Lifecycle funnel': kpis.funnel.stages.some((s: { reached: number }) => s.reached > 0), 'CLV by segment': true,
      'Cohort retention': true, 'NPS distribution': true, 'Revenue and orders': true,
    });
    await screenshot(page, '70-dashboard');
    expect(await seriousViolations(page)).toEqual([]);

    // CSV exports: the API's numbers, unrounded, null as an empty field.
    const conv = parseCsv(await downloadCsv('Conversion by flow'));
    expect(conv.map((r) => r.flow_id)).toEqual(kpis.flows.map((f: { flow_id: string }) => f.flow_id));
    for (const [i, f] of kpis.flows.entries()) {
      expect(conv[i]).toMatchObject({
        name: f.name, has_goal: String(f.has_goal), entered: cell(f.entered), converted: cell(f.converted), conversion_rate: cell(f.conversion_rate),
        holdout_rate: cell(f.holdout?.conversion_rate), lift_absolute: cell(f.lift?.absolute), lift_ci_low: cell(f.lift?.ci_low), lift_ci_high: cell(f.lift?.ci_high),
      });
    }
    expect(conv.find((r) => r.name === 'Welcome (no goal)')!.conversion_rate).toBe('');
    expect(parseCsv(await downloadCsv('NPS distribution')).map((r) => Number(r.responses))).toEqual(kpis.nps_distribution);
    expect(parseCsv(await downloadCsv('Revenue and orders'))).toEqual(kpis.series.map((s: Record<string, unknown>) => ({
      start: s.start, end: s.end, entered: cell(s.entered), converted: cell(s.converted), orders: cell(s.orders), revenue: cell(s.revenue),
    })));
    const cohorts = parseCsv(await downloadCsv('Cohort retention'));
    expect(cohorts.map((r) => [r.cohort, Number(r.size), Number(r.month_0)])).toEqual(kpis.cohorts.map((c: { cohort: string; size: number; retained: number[] }) => [c.cohort, c.size, c.retained[0]]));
    const tileCsv = parseCsv(await downloadCsv('Key figures'));
    for (const r of tileCsv) expect(r.value, r.kpi).toBe(cell(kpis[r.kpi]));
    expect(parseCsv(await downloadCsv('Lifecycle funnel'))).toEqual(kpis.funnel.stages.map((s: Record<string, unknown>) => ({
      stage: s.stage, current: cell(s.current), reached: cell(s.reached), rate_from_previous: cell(s.rate_from_previous),
    })));
    expect(parseCsv(await downloadCsv('CLV by segment'))).toEqual(kpis.clv_by_segment.map((s: Record<string, unknown>) => ({
      segment: s.segment, name: s.name, revenue: cell(s.revenue), buyers: cell(s.buyers), churn_rate: cell(s.churn_rate), clv_avg: cell(s.clv_avg),
    })));
  });

  it('filters by period and segment: the figures follow the API for the same question', async () => {
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await kpisShown(() => page.goto(`${server.url}/dashboard`));
    const year = await kpisShown(() => page.getByLabel('Period', { exact: true }).selectOption('365d'), (u) => u.searchParams.get('interval') === 'month');
    expect(Date.parse(year.url.searchParams.get('to')!) - Date.parse(year.url.searchParams.get('from')!)).toBe(365 * DAY);
    const revenue = page.getByRole('group', { name: 'Revenue' }).locator('.kpi-value');
    await expect.poll(() => revenue.textContent()).toBe(year.kpis.revenue.toLocaleString('en-US', { maximumFractionDigits: 2 }));
    await expect.poll(chartsDrawn, { timeout: 15_000 }).toMatchObject({ 'Cohort retention': true, 'Revenue and orders': true });
    await screenshot(page, '71-dashboard-year');

    const pro = await kpisShown(() => page.getByLabel('Segment', { exact: true }).selectOption('pro'), (u) => u.searchParams.get('segment') === 'pro');
    expect(pro.kpis.revenue).toBeLessThan(year.kpis.revenue);
    await expect.poll(() => revenue.textContent()).toBe(pro.kpis.revenue.toLocaleString('en-US', { maximumFractionDigits: 2 }));
    expect(page.url()).toContain('segment=pro');
    const tileCsv = parseCsv(await downloadCsv('Key figures'));
    expect(tileCsv.find((r) => r.kpi === 'revenue')!.value).toBe(String(pro.kpis.revenue));
  });

  it("the flow page shows its own conversion, lift and per-node drop-off; a flow without a goal shows No goal", async () => {
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    const flows = (await server.h.call('GET', '/v1/flows')).body.items as Array<{ id: string; name: string }>;
    const nurtureId = flows.find((f) => f.name === 'Trial nurture')!.id;
    const welcomeId = flows.find((f) => f.name === 'Welcome (no goal)')!.id;
    await page.goto(`${server.url}/flows/${nurtureId}`);
    await page.getByRole('button', { name: '0 problems' }).waitFor({ timeout: 20_000 });
    const { kpis } = await kpisShown(() => page.getByRole('button', { name: 'Live' }).click(), (u) => u.searchParams.get('flow_id') === nurtureId);
    const f = kpis.flows.find((x: { flow_id: string }) => x.flow_id === nurtureId);
    const bar = page.getByLabel('Run totals');
    await bar.getByText(`${(f.conversion_rate * 100).toFixed(1)}% converted (${f.converted} of ${f.entered}, 12 months)`).waitFor();
    const pts = (v: number) => `${v > 0 ? '+' : ''}${(v * 100).toFixed(1)}`;
    await bar.getByText(`${pts(f.lift.absolute)} pts lift over holdout (95%: ${pts(f.lift.ci_low)} to ${pts(f.lift.ci_high)})`).waitFor();
    await bar.getByText('Drop-off by node').click();
    const stats = (await server.h.call('GET', `/v1/flows/${nurtureId}/stats`)).body.nodes;
    // The split: runs that entered it and reached neither branch are the holdout's, ended there.
    const split = page.getByRole('table', { name: 'Drop-off by node' }).getByRole('row', { name: /Random split/ });
    const held = stats.ab.entered - stats.ab.waiting - (stats.wait_a?.entered ?? 0) - (stats.wait_b?.entered ?? 0);
    expect(held).toBeGreaterThan(0);
    await expect.poll(async () => (await split.innerText()).match(/\d+/g)!.slice(0, 2).map(Number)).toEqual([stats.ab.entered, held]);
    await screenshot(page, '72-flow-figures');

    await page.goto(`${server.url}/flows/${welcomeId}`);
    await page.getByRole('button', { name: '0 problems' }).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Live' }).click();
    await page.getByLabel('Run totals').getByText('No goal', { exact: true }).waitFor();
    expect(await page.getByLabel('Run totals').innerText()).not.toMatch(/0\.0%/);
  });
});
