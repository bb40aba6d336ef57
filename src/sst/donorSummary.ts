/**
 * The donor's summary line (design.md "Numbers"): the connections' figures (roleContext.ts), then what crossed the
 * wire against the data the transfer mode sent, and the wall time of each stage. Its own module because it is
 * pure arithmetic on what the role gathered, and because it must be made only once every connection is closed:
 * counted right after the data passes, the wire once showed 7.4 MiB for 10.1 MiB of whole files.
 */
import { summaryLine, type SessionFigures } from './roleContext.js';
import { wireVersusData } from './transferMode.js';

/** What the donor gathered for its summary line. */
export interface DonorFigures {
  /** Every connection, the completion marker's included. */
  sessions: SessionFigures[];
  elapsedMs: number;
  /** False when the peer was not verified (sockopt verify=0). */
  verified: boolean;
  /** The transfer mode as described (transferMode.ts); undefined for an IST, which sends no data. */
  transferMode: string | undefined;
  /** The bytes of the data set sent (both phases of a two-phase copy). */
  dataBytes: number;
  /** `<stage> <seconds> s` of each stage, in order. */
  stages: string[];
}

/** The donor's closing summary line. */
export function donorSummaryLine(figures: DonorFigures): string {
  const { sessions, elapsedMs, verified, transferMode, dataBytes, stages } = figures;
  const summaryStages = stages.length > 0 ? `; stages: ${stages.join(', ')}` : '';
  const wire = sessions.reduce((sum, x) => sum + x.bytesIn + x.bytesOut, 0);
  const transferNote =
    transferMode === undefined ? '' : `; transfer ${transferMode}: ${wireVersusData(dataBytes, wire)}`;
  return `${summaryLine('donor', sessions, elapsedMs, verified)}${transferNote}${summaryStages}`;
}
