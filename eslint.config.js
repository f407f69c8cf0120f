import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '.cache/', '.test-run/', 'coverage/', 'platform/tools/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through platform/config.ts only.',
        },
      ],
    },
  },
  // Tests and benchmarks set up environments of their own.
  {
    files: ['platform/config.ts', 'test/**/*.ts', 'bench/**/*.ts', 'platform/tools/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  // Test doubles implement async interfaces with synchronous bodies.
  { files: ['test/**/*.ts', '**/*.test.ts'], rules: { '@typescript-eslint/require-await': 'off' } },
  { files: ['eslint.config.js', 'jest.config.js'], ...tseslint.configs.disableTypeChecked },
);
