/**
 * Module-owned config sections. Each module adds its section here as `name: Schema.prefault({})`,
 * keeping the schema itself in its own file under src/core/config/.
 */
import { FeaturesConfigSchema } from './features.js';
import { PoliciesConfigSchema } from './policies.js';
import { TrainingConfigSchema } from './training.js';
import { TelemetrySchema } from './telemetry.js';
import { StoreSchema } from './store.js';
import { AlertsConfigSchema } from './alerts.js';
import { ServerConfigSchema } from './server.js';
import { RolloutConfigSchema } from './rollout.js';
import { OpeConfigSchema } from './ope.js';
import { SimConfigSchema } from './sim.js';
import { AuditConfigSchema } from './audit.js';

export const ModuleSections = {
  features: FeaturesConfigSchema.prefault({}),
  policies: PoliciesConfigSchema.prefault({}),
  training: TrainingConfigSchema.prefault({}),
  telemetry: TelemetrySchema.prefault({}),
  store: StoreSchema.prefault({}),
  alerts: AlertsConfigSchema.prefault({}),
  server: ServerConfigSchema.prefault({}),
  rollout: RolloutConfigSchema.prefault({}),
  ope: OpeConfigSchema.prefault({}),
  sim: SimConfigSchema.prefault({}),
  audit: AuditConfigSchema.prefault({}),
} as const;
