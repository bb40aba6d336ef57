/** What the doctor's listener and probe share: the policy builder (the SST's own) and the answer lines. */
import { tlsPolicy } from '../tls/settingsPolicy.js';

/** The policy an SST would use for these settings (the same builder as the SST preflight's). */
export const doctorPolicy = tlsPolicy;

/** The first line a `doctor --listen` sends after checking the client: accepted, or refused with the reason. */
export const ANSWER_ACCEPTED = 'SST-TUNNEL-DOCTOR ACCEPTED';
export const ANSWER_REFUSED = 'SST-TUNNEL-DOCTOR REFUSED';
