/**
 * The browser a session was started from (issue 23): the User-Agent of the
 * sign-in request, bounded as recent clients' are (storedUserAgent), shown in
 * the member's list of sessions. Sessions started before have none.
 */
export const name = 'session-user-agent';

export const sql = /* sql */ `
ALTER TABLE sessions ADD COLUMN user_agent text;
`;
