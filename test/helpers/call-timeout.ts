/**
 * How long a test's own calls to Restate's ingress wait for an answer. The app's clients give up
 * after 5 s, right for a browser waiting on a page; a test on a loaded machine (2–3× slower than a
 * quiet one) must not fail because Restate answered in 6.
 */
export const TEST_CALL_TIMEOUT_MS = 60_000;
