// The Redis URL forms `state:` accepts, and what the config makes of them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeRedisTarget,
  isRedisUrl,
  parseConfigText,
  parseRedisUrl,
  type RedisTarget,
} from '../../src/config/index.ts';

function target(url: string): RedisTarget {
  const t = parseRedisUrl(url);
  if ('error' in t) assert.fail(`${url}: ${t.error}`);
  return t;
}

function problem(url: string): string {
  const t = parseRedisUrl(url);
  assert.ok('error' in t, `${url} should be refused`);
  return t.error;
}

describe('Redis URLs', () => {
  it('reads one server with its password, database and TLS', () => {
    assert.deepEqual(target('redis://127.0.0.1'), {
      mode: 'standalone',
      nodes: [{ host: '127.0.0.1', port: 6379 }],
      tls: false,
      db: 0,
      username: undefined,
      password: undefined,
      masterName: undefined,
      sentinelPassword: undefined,
    });
    const t = target('rediss://app:p%40ss%3Aword@redis.internal:6380/3');
    assert.equal(t.tls, true);
    assert.equal(t.username, 'app');
    assert.equal(t.password, 'p@ss:word');
    assert.equal(t.db, 3);
    assert.deepEqual(t.nodes, [{ host: 'redis.internal', port: 6380 }]);
    assert.equal(target('redis://:secret@[::1]:7000/').password, 'secret');
    assert.deepEqual(target('redis://:secret@[::1]:7000/').nodes, [{ host: '::1', port: 7000 }]);
  });

  it('reads Sentinels with the master name, and their own password apart', () => {
    const t = target('redis+sentinel://:pw@s1,s2:26380,s3/mymaster/2?sentinelPassword=sp');
    assert.equal(t.mode, 'sentinel');
    assert.deepEqual(t.nodes, [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26380 },
      { host: 's3', port: 26379 },
    ]);
    assert.equal(t.masterName, 'mymaster');
    assert.equal(t.db, 2);
    assert.equal(t.password, 'pw');
    assert.equal(t.sentinelPassword, 'sp');
    assert.match(problem('redis+sentinel://s1,s2'), /master’s name/);
  });

  it('reads Cluster seed nodes, which have only database 0', () => {
    const t = target('rediss+cluster://n1:7000,n2:7001');
    assert.equal(t.mode, 'cluster');
    assert.equal(t.tls, true);
    assert.equal(t.nodes.length, 2);
    assert.match(problem('redis+cluster://n1:7000/1'), /only database 0/);
  });

  it('refuses what it cannot use, saying what was expected', () => {
    assert.match(problem('redis://a,b'), /one host/);
    assert.match(problem('redis://h:99999'), /host or host:port/);
    assert.match(problem('redis://h/db1'), /database number/);
    assert.match(problem('redis://h?tls=1'), /unknown URL parameter/);
    assert.match(problem('redis://:%zz@h'), /percent-encoding/);
    assert.match(problem('redis:/h'), /expected redis:\/\//);
    assert.equal(isRedisUrl('redis+cluster://h'), true);
    assert.equal(isRedisUrl('sqlite:redis://'), false);
  });

  it('describes a target without its password', () => {
    const t = target('redis+sentinel://:pw@s1,[::1]:26380/main/1?sentinelPassword=sp');
    assert.equal(describeRedisTarget(t), 'redis+sentinel://s1:26379,[::1]:26380/main/1');
    assert.ok(!problem('redis://:hunter2@h/x').includes('hunter2'));
    assert.ok(!problem('redis//:hunter2@h').includes('hunter2'));
  });
});

describe('state in the config', () => {
  const BASE = 'backends:\n  legacy: { url: "http://127.0.0.1:9001" }\nroutes: []\n';
  const state = (yaml: string) => parseConfigText(`${BASE}${yaml}`, 'cutover.yaml', {}).state;

  it('keeps memory and sqlite as strings, and gives a Redis URL the defaults', () => {
    assert.equal(state(''), 'sqlite:.cutover/state.db');
    assert.equal(state('state: memory\n'), 'memory');
    assert.deepEqual(state('state: redis://127.0.0.1:6379/1\n'), {
      url: 'redis://127.0.0.1:6379/1',
      prefix: 'cutover',
      commandTimeout: 1000,
      tokenTimeout: 50,
    });
  });

  it('takes the mapping form with a prefix and timeouts', () => {
    const yaml =
      'state: { url: "redis://r:6379", prefix: gw-a, commandTimeout: 2s, tokenTimeout: 20ms }\n';
    assert.deepEqual(state(yaml), {
      url: 'redis://r:6379',
      prefix: 'gw-a',
      commandTimeout: 2000,
      tokenTimeout: 20,
    });
  });

  it('names the field of a bad mapping', () => {
    assert.throws(
      () => state('state: { url: "redis://r", prefix: "{gw}" }\n'),
      /state\.prefix: expected 1 to 64 letters/,
    );
    assert.throws(() => state('state: { prefix: gw }\n'), /state: url: required field is missing/);
  });
});
