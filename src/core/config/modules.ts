/**
 * Module-owned config sections. Each module adds its section here as `name: Schema.prefault({})`,
 * keeping the schema itself in its own file under src/core/config/.
 */
export const ModuleSections = {} as const;
