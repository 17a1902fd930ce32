/** The fields of an ICE candidate line that filters care about. */
export interface CandidateInfo {
  address: string;
  port: number;
  protocol: string;
  type: string;
}

/** Parses `candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> ...`. */
export function parseCandidate(line: string): CandidateInfo | undefined {
  const fields = line
    .replace(/^a=/, '')
    .replace(/^candidate:/, '')
    .trim()
    .split(/\s+/);
  if (fields.length < 8 || fields[6] !== 'typ') return undefined;
  const port = Number(fields[5]);
  if (!Number.isInteger(port)) return undefined;
  return { protocol: fields[2]!.toLowerCase(), address: fields[4]!, port, type: fields[7]! };
}

/** Decides which ICE candidates, local and remote, a connection may use. */
export type CandidateFilter = (candidate: CandidateInfo) => boolean;

/**
 * Keeps only loopback candidates. For tests on one machine: Chromium also gathers the host's
 * other addresses, and those must not carry test traffic.
 */
export const loopbackCandidatesOnly: CandidateFilter = (c) => c.address === '127.0.0.1';
