/**
 * The registry policy of plan section 4, in the plan's own words. Edit it here: the mechanisms
 * that apply it are lib/registry/policy.ts (the rules) and lib/registry/plan.ts (the plan).
 */
import type { RegistryPolicy } from './policy.ts';

export const registryPolicy: RegistryPolicy = {
  // 1. Keep the last 3 versions of each image (semver order; otherwise the image's creation date).
  keepVersions: 3,
  // 2. Delete every test image: a tag split on - _ . with a part that is one of these tokens,
  //    optionally followed by digits (test, test2, ci-test-3, temp_1, debug.4). A token inside a
  //    word is no match: latest, attestation, contest, temperature, hotfix-attempt-2 are not tests.
  //    REGISTRY_DELETE_TAG_TOKENS replaces this list.
  deleteTagTokens: ['test', 'temp', 'debug'],
  // 3. Keep the production images, whatever rules 1 and 2 say. REGISTRY_PROTECT_TAGS (its default
  //    is declared in lib/registry/settings.ts) protects those tags in every repository; these
  //    pairs are protected besides.
  protect: ['webhook-api:final', 'nginx-webhook:latest'],
  // Per-repository exceptions, for example: { 'nginx-webhook': { keepVersions: 5 } }.
  repositories: {},
};
