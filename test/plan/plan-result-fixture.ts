// A hand-made PlanResult for the output tests: three stages, a gRPC entry
// point, shared columns, a data store, a warning, cost inputs, and a module
// name a browser or a terminal must not take for markup.
import type { PlanResult } from '../../src/plan/index.ts';

export const HOSTILE = '<img src=x onerror=alert(1)>&"quote\'';

const cost = (baseDays: number) => ({
  days: baseDays * 1.8,
  calendarDays: (baseDays * 1.8) / 2,
  people: baseDays * 1.8 * 0.45,
  compatibility: baseDays * 1.8 * 0.3,
  observability: baseDays * 1.8 * 0.25,
  inputs: { baseDays, skillFactor: 1.8, teamSize: 2 },
});

export function fixturePlan(): PlanResult {
  return {
    modules: [
      {
        name: 'users',
        stage: 'L1',
        score: 0.08,
        traffic: 1200,
        cost: cost(10),
        pair: { with: 'orders', callRatio: 0.2, sharedColumns: 0, txHops: 0, score: 0.08 },
        services: ['users'],
        entryPoints: [
          {
            name: 'GET /api/users/{id}',
            kind: 'http',
            path: '/api/users/{id}',
            method: 'GET',
            calls: 900,
          },
          {
            name: 'PUT /api/users/{id}',
            kind: 'http',
            path: '/api/users/{id}',
            method: 'PUT',
            calls: 300,
          },
        ],
      },
      {
        name: 'inventory',
        stage: 'L1',
        score: 0.15,
        traffic: 800,
        cost: cost(8),
        pair: { with: 'orders', callRatio: 0.375, sharedColumns: 0, txHops: 0, score: 0.15 },
        services: ['inventory'],
        entryPoints: [
          {
            name: 'grpc shop.v1.Stock/Reserve',
            kind: 'grpc',
            path: 'shop.v1.Stock',
            method: 'Reserve',
            calls: 800,
          },
        ],
      },
      {
        name: 'orders',
        stage: 'L2',
        score: 0.435,
        traffic: 3000,
        cost: cost(20),
        pair: { with: 'billing', callRatio: 0.5, sharedColumns: 6, txHops: 2, score: 0.435 },
        services: ['orders'],
        entryPoints: [
          {
            name: 'POST /api/orders',
            kind: 'http',
            path: '/api/orders',
            method: 'POST',
            calls: 3000,
          },
        ],
      },
      {
        name: 'billing',
        stage: 'L3',
        score: 0.71,
        traffic: 1500,
        cost: cost(15),
        pair: { with: HOSTILE, callRatio: 0.6, sharedColumns: 20, txHops: 3, score: 0.71 },
        services: ['billing'],
        entryPoints: [
          {
            name: 'POST /billing/charge',
            kind: 'http',
            path: '/billing/charge',
            method: 'POST',
            calls: 1500,
          },
        ],
      },
      {
        name: HOSTILE,
        stage: 'L3',
        score: 0.71,
        traffic: 10,
        cost: undefined,
        pair: { with: 'billing', callRatio: 0.6, sharedColumns: 20, txHops: 3, score: 0.71 },
        services: [HOSTILE],
        entryPoints: [],
      },
    ],
    pairs: [
      {
        a: 'billing',
        b: HOSTILE,
        callRatio: 0.6,
        callsPerDay: 61_000,
        sharedColumns: 20,
        sharedLevel: 'columns',
        shared: ['pay_db.ledger.amount'],
        txHops: 3,
        twoPhaseShare: 0.2,
        score: 0.71,
      },
      {
        a: 'billing',
        b: 'orders',
        callRatio: 0.5,
        callsPerDay: 1500,
        sharedColumns: 6,
        sharedLevel: 'columns',
        shared: ['orders_db.orders.status'],
        txHops: 2,
        twoPhaseShare: undefined,
        score: 0.435,
      },
      {
        a: 'inventory',
        b: 'orders',
        callRatio: 0.375,
        callsPerDay: 300,
        sharedColumns: 0,
        sharedLevel: 'none',
        shared: [],
        txHops: 0,
        twoPhaseShare: undefined,
        score: 0.15,
      },
      {
        a: 'orders',
        b: 'users',
        callRatio: 0.2,
        callsPerDay: 240,
        sharedColumns: 0,
        sharedLevel: 'none',
        shared: [],
        txHops: 0,
        twoPhaseShare: undefined,
        score: 0.08,
      },
    ],
    dataStores: [
      {
        name: 'postgresql:orders_db',
        source: 'db.system',
        modules: ['billing', 'orders'],
        tables: ['orders'],
      },
      { name: 'redis', source: 'db.system', modules: ['users'], tables: [], kind: 'cache' },
    ],
    warnings: [
      {
        kind: 'high-coupling',
        message: `billing and ${HOSTILE}: 61,000 cross-module calls a day (≥ 50,000)`,
        modules: ['billing', HOSTILE],
      },
      {
        kind: 'two-phase',
        message: 'billing: 2PC in 20% of transactions (> 15%)',
        modules: ['billing'],
      },
    ],
    traces: {
      spans: 12_345,
      traces: 1_000,
      days: 1,
      from: '2026-11-29T00:00:00.000Z',
      until: '2026-11-30T00:00:00.000Z',
    },
  };
}
