import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Released migrations are append-only: a database that already ran a migration never runs it again, so an edit to
 * one reaches fresh installs only and the two drift apart. This holds a checksum of every released file. A new
 * migration is listed here when it lands (the test prints the line to add); a change to a listed file fails.
 */
const RELEASED: Record<string, string> = {
  '0001_foundation.ts': 'caa478f17e5e832c29a3a2dfc22244597fa391376a766fb57da2cb4a144e80e2',
  '0002_flows_runs.ts': '085689285052e5f347a4c6769395f5e307f1f1e61b7694c8da885112d36e9ae1',
  '0003_flow_timers.ts': '3678791841b5a51818f775246118a8fd62bffa451e055364367cdfd0d804a5e1',
  '0004_email_settings.ts': '785e6832dc9174ada6fb81279e203a7ec42954d427e84591a6629b628cecc45b',
  '0010_sessions.ts': '1db05f8f78fae16b376b8b9d0cd019e65fa8739416a23606b8a778f322bc567b',
  '0030_plugins.ts': '6adf31fcd5249f28ab6e0f295e9c171196479c964c2c06b3067f8a4c92dfb6ce',
  '0100_segments.ts': '0c9d645ac6cd213fdb886f10f8d348d3013fffabebe924b608027de69e8676e7',
  '0101_rfm_churn.ts': 'dcc42215a28ac1c79ef1f0a49904b0be947a6a1444e7871679c0368d2f611ed6',
  '0110_lifecycle_programs.ts': '777fb394acb71e7fa4f608eceff9083df53708af32d49b8bc6d9925b3c73987e',
  '0111_owner_leads_erased.ts': '6374e95c3b214a12b7b38721e47fe61eefee4051f1af93515d60fc1dd4621b2a',
  '0120_email_messages.ts': 'af43240ff22142114013125f8dcccd4af73b9bdd00908bb410e545923e714e9c',
  '0121_email_policies.ts': 'abf34272ce4c0b0c9dfd628cd282aa82c67a3b70c67905a92e55f92aaab95897',
  '0122_run_steps_deferred.ts': '42dcd105d0104317747905fe6b546501f36d3bff9a07f1e04ed88b92e739b0f5',
  '0140_kpi_indexes.ts': 'd9b6248a41de61e69fa176034db464f086540074d4acdd0db3e4333888c0792a',
  '0141_kpi_email_index.ts': '81f0efa39ee6415ac4de032745ccd5137cc33e3283e295c0bf7625a59b309717',
  '0150_backtests.ts': '3b073a9908f66e6b7a40ef168f5172b90623adf5e4d60925fffd3cea4b84d644',
  '0160_run_step_logs.ts': '2e6adfc38630e31a18b9d1cfab1c3aafcb9e35dae6ee75abc28078bf16336929',
  '0165_flow_keys.ts': '41d7612afca5dd40cb104533c6552068620b3520e0240be2dabf73c54a900db6',
  '0180_activity_types.ts': 'e9c9ae6192e15644ac3f586d1a619f16ad5cec1182be77a37fb56a4d0ad0be71',
  '0181_run_step_retention.ts': 'e95fe79d9e079108fe2bf5277159ec34e83127c748854e7bebc59b5c4fc6da32',
  '0190_segment_evaluation.ts': '892a8913e32fcbcfc2cd117be325183429a9d936d4a000d42230ffee16dc519f',
  '0195_kpi_order_days.ts': '5c19c42d79cc2c3384b53aa49cc40c428876034e35bdeddfb61eab63ddc3c86d',
  '0200_runs_reentry_by_lock.ts': '77a124779c66a659c8b64364856b121a3798455647ad1aa296729bc2cde9899c',
  '0201_contacts_email_statistics.ts': 'b36041144b0836ba96e3662c0de74e1a1bcd3190b5eb10c83ac0990ed118ee41',
  '0202_event_retention.ts': 'e65e9c194a32bd0f84cec8a86649b207c03e0b60ba70a1c2375b292669c6446e',
  '0215_churn_factor_columns.ts': 'eb870dd5c2f2ae76ee0dff778d83418258f944e87e30ce42bea67e930aaccc8e',
  '0216_segment_daily_shards.ts': '258faa3b8c61393b4453b5123aa1736ec6b89abd3a20c6d8396a66c1af90133b',
  '0225_plugin_oauth_triggers.ts': '0d919e8d19f751f879baaac8dc294c88ed6934ee8f8453f0a39a5ef4a87c03bd',
  '0240_workspace_plugin_hosts.ts': 'd21b31f99c10c9a57a294185d53691a3d382a0ea3eacfdaa1cafaa78527ef955',
  '0245_plugin_source_maps.ts': '56fa5f4599f4aa6d1fe958881bda64ef6973170a6722370495323cf450caaaab',
  '0250_run_steps_compact.ts': '285f78c7203d8ba2cc9ab9079cf5af0ce1d9e2935b9dcb6b5f3848ee77ed51c9',
  '0260_run_retention.ts': '279940d1b1d0d077979b97cd6727cac4c072451a45ce42131351ec2a37e97ca1',
  '0261_run_retention_revisit.ts': 'eef5c3b742311b40dccba29a069c1d1f98389a8863433a2ba3fab0d4d7feedfc',
  '0270_hot_table_autovacuum.ts': 'dddcb463e4d2edfc29710f7e93a324428cbca2c4432f48b4a61da01765a67a03',
  '0271_owner_leads_autovacuum.ts': 'fa53ce38ab8e323a766065d23bb57cc91dc2e41818c786448bd05d9d0bcce4ae',
  '0280_keys_lead_with_workspace.ts': '0b9a1ae651c3fde5531303ab3b8cbec6e353a0bb9e20781f889bb7b93d435bc2',
};

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');
// Line endings normalized, so a Windows checkout hashes the same.
const checksum = (file: string) => createHash('sha256').update(readFileSync(path.join(dir, file), 'utf8').replace(/\r\n/g, '\n')).digest('hex');
const files = readdirSync(dir).filter((f) => /^\d{4}_.+\.ts$/.test(f)).sort();

describe('released migrations are append-only', () => {
  it('every released migration file is still there, unchanged', () => {
    for (const [file, sum] of Object.entries(RELEASED)) {
      expect(files, `${file} was released and must stay: a database that ran it keeps it`).toContain(file);
      expect(checksum(file), `${file} was released and must not change: an existing database never re-runs it. Put the change in a new migration file instead.`).toBe(sum);
    }
  });

  for (const file of files.filter((f) => !(f in RELEASED))) {
    it.todo(`new migration ${file}: add  '${file}': '${checksum(file)}',  to RELEASED in engine/src/db/migrations-released.test.ts`);
  }
});
