/**
 * ApiKey manifests without Terraform: collected from a construct tree, or
 * read back from a synthesized cdk.tf.json, and written as YAML for GitOps
 * repositories (Argo CD, Flux) or `kubectl apply`.
 */
import type { IConstruct } from 'constructs';
import { stringify } from 'yaml';
import { API_GROUP, API_KIND } from '../core/apikey.ts';
import { ApiKey, type ApiKeyManifest } from './kubernetes/api-key.ts';

/** Every ApiKey under `scope` (an App, a stack, any construct), in tree order. */
export function collectApiKeyManifests(scope: IConstruct): ApiKeyManifest[] {
  return scope.node.findAll().filter((c) => ApiKey.isApiKey(c)).map((c) => (c as ApiKey).toManifest());
}

/** The ApiKey resources of a synthesized Terraform JSON document (cdktf.out/stacks/<stack>/cdk.tf.json). */
export function manifestsFromTerraformJson(document: unknown): ApiKeyManifest[] {
  const resources = (document as { resource?: { kubernetes_manifest?: Record<string, { manifest?: unknown }> } })?.resource?.kubernetes_manifest ?? {};
  return Object.values(resources)
    .map((resource) => resource.manifest as ApiKeyManifest | undefined)
    .filter((m): m is ApiKeyManifest => !!m && m.kind === API_KIND && typeof m.apiVersion === 'string' && m.apiVersion.startsWith(`${API_GROUP}/`));
}

/** One YAML document per manifest ("---" between them). */
export function toYaml(manifests: readonly ApiKeyManifest[]): string {
  // Quoted wherever a YAML 1.1 reader (Kubernetes' own) would read a date, a boolean or a number.
  return manifests.map((manifest) => stringify(manifest, { lineWidth: 0, version: '1.1' })).join('---\n');
}

/** "<namespace>.<name>.apikey.yaml": one file per resource, stable across runs. */
export function manifestFileName(manifest: ApiKeyManifest): string {
  return `${manifest.metadata.namespace}.${manifest.metadata.name}.apikey.yaml`;
}
