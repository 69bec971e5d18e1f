/**
 * The compiled configuration every service receives: the validated config and what is derived
 * from it once — the reward function, the feature definition, and the fingerprint that artifacts
 * must match. Built by the composition root (src/app) from one config; nothing below it compiles
 * a reward or hashes a feature definition again.
 */
import { type Config, type ConfigInput, compileConfig, configHash } from './config/index.js';
import { type FeatureDefinition, featureDefinition, featureHash } from './features/index.js';
import { type RewardFunction, compileReward } from './reward.js';

/** The hashes an artifact trained under these settings carries (and must carry to be served). */
export interface Fingerprint {
  readonly rewardHash: string;
  readonly featureHash: string;
}

/** A config with its derived parts, computed once. */
export interface Settings {
  readonly config: Config;
  readonly reward: RewardFunction;
  readonly features: FeatureDefinition;
  readonly fingerprint: Fingerprint;
  /** Hash of the effective config (artifacts and audit records carry it). */
  readonly configHash: string;
}

/** Derive the settings of an effective config. */
export function compileSettings(config: Config): Settings {
  const reward = compileReward(config.reward);
  const features = featureDefinition(config.features);
  return { config, reward, features, fingerprint: { rewardHash: reward.hash, featureHash: featureHash(features) }, configHash: configHash(config) };
}

/** Validate a raw config and derive its settings (E_CONFIG_INVALID on a bad config). */
export function settingsOf(raw: ConfigInput | unknown = {}, source = 'config'): Settings {
  return compileSettings(compileConfig(raw, source));
}

/** The same settings with a changed config (derived parts recomputed). */
export function withConfig(settings: Settings, change: (c: Config) => Config): Settings {
  return compileSettings(change(settings.config));
}
