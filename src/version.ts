/** The product version, printed by `--version` and in every SST summary. Kept in step with package.json. */
export const VERSION = '0.1.0';
