/**
 * The walls of the house (docs/architecture.md): components stand on the
 * shared floor and never on each other; the floor has its own order
 * (platform <- proto <- features <- adapters); no cycles anywhere. `npm run
 * lint` runs this; tests/lint/walls.test.ts proves a forbidden arrow fails.
 */
const COMPONENTS = ['sidecar', 'ingest', 'batch', 'evaluation', 'control-plane', 'training', 'wasm-filter'];
const FLOOR = '^(proto|features|platform|adapters)/';

const componentRules = COMPONENTS.map((c) => ({
  name: `wall-${c}`,
  comment: `${c} may import only the shared floor (proto, features, platform, adapters) and its own files`,
  severity: 'error',
  from: { path: `^${c}/` },
  to: {
    path: '^[^/]+/',
    pathNot: [`^${c}/`, FLOOR, '^node_modules/', '^@solo-io/'],
    dependencyTypesNot: ['core'],
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycles, anywhere (type-only imports included)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...componentRules,
    {
      name: 'floor-platform',
      comment: 'the platform kit stands alone: it imports no other part of the house',
      severity: 'error',
      from: { path: '^platform/' },
      to: { path: '^[^/]+/', pathNot: ['^platform/', '^node_modules/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'floor-proto',
      comment: 'contracts depend only on the platform kit',
      severity: 'error',
      from: { path: '^proto/' },
      to: {
        path: '^[^/]+/',
        pathNot: ['^(proto|platform)/', '^node_modules/'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'floor-features',
      comment: 'the one feature module depends on contracts and the platform kit only',
      severity: 'error',
      from: { path: '^features/' },
      to: {
        path: '^[^/]+/',
        pathNot: ['^(proto|platform|features)/', '^node_modules/'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'floor-adapters',
      comment: 'shared adapters implement floor ports; they never reach into a component',
      severity: 'error',
      from: { path: '^adapters/' },
      to: { path: '^[^/]+/', pathNot: [FLOOR, '^node_modules/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'pure-core',
      comment:
        'the decision core and the feature module depend on ports, never on a client library (DESIGN §5)',
      severity: 'error',
      from: { path: '^(features/|sidecar/src/decision/|ingest/src/(?!adapters/|main))' },
      to: { path: 'node_modules/(ioredis|kafkajs|@grpc|onnxruntime-node|pg|better-sqlite3)/' },
    },
    {
      name: 'no-tests-in-product',
      comment: 'product code never imports tests, benches or scripts',
      severity: 'error',
      from: {
        path: '^(proto|features|platform|adapters|sidecar|ingest|evaluation|control-plane|training|wasm-filter)/',
      },
      to: { path: '^(tests|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(build|\\.tap)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
