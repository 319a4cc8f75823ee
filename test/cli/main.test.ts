// The CLI's lazy command table (src/cli/main.ts): `portus --help` is printed from COMMANDS without
// importing any sub-command module, so the table must match what the modules really register.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { Help } from 'commander';
import { buildProgram, COMMANDS, main } from '../../src/cli/main.ts';

test('COMMANDS lists every registered command with its real help term and description', async () => {
  const program = await buildProgram();
  const help = new Help();
  const real = program.commands.map((c) => ({
    name: c.name(),
    term: help.subcommandTerm(c),
    description: c.description(),
  }));
  const table = COMMANDS.map(({ name, term, description }) => ({ name, term, description }));
  assert.deepEqual(table, real);
});

test('top-level --help lists every command; a command name loads only that command', () => {
  const r = spawnSync(process.execPath, ['bin/portus.js', '--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  for (const c of COMMANDS) {
    if (c.hidden === true) assert.ok(!r.stdout.includes(c.name), `hidden ${c.name} not in\n${r.stdout}`);
    else assert.ok(r.stdout.includes(c.term), `${c.term} in\n${r.stdout}`);
  }
  assert.match(r.stdout, /help \[command\]/);
  const h = spawnSync(process.execPath, ['bin/portus.js', 'help', 'compile'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /Usage: portus compile \[options\] <file>/);
});

test('an unknown command is a usage error with a suggestion', async () => {
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (errors.push(s), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main(['compil']), 1);
  } finally {
    process.stderr.write = write;
  }
  assert.match(errors.join(''), /unknown command 'compil'[\s\S]*Did you mean compile\?/);
});
