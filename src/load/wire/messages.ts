/**
 * PostgreSQL frontend messages, encoded once and reused: the load generator's hot loop
 * only patches int4 parameter values into pre-built Bind messages (no per-query allocation).
 */

function message(type: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type.charCodeAt(0);
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const cstring = (s: string) => Buffer.from(s + '\0', 'utf8');
const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const INT4_OID = 23;

/** Parse: a named prepared statement whose parameters are all int4. */
export function parseMessage(name: string, sql: string, params: number): Buffer {
  const types = Buffer.alloc(4 * params);
  for (let i = 0; i < params; i++) types.writeInt32BE(INT4_OID, 4 * i);
  return message('P', Buffer.concat([cstring(name), cstring(sql), int16(params), types]));
}

export const syncMessage = (): Buffer => message('S', Buffer.alloc(0));
export const queryMessage = (sql: string): Buffer => message('Q', cstring(sql));
export const terminateMessage = (): Buffer => message('X', Buffer.alloc(0));

/**
 * Bind (unnamed portal, binary int4 parameters, binary results) + Execute, and where in the
 * returned buffer each parameter's 4 value bytes sit, relative to the buffer's start.
 */
export function bindExecute(statement: string, params: number): { bytes: Buffer; paramOffsets: number[] } {
  const head = Buffer.concat([cstring(''), cstring(statement), int16(1), int16(1), int16(params)]);
  const values = Buffer.alloc(8 * params);
  const offsets: number[] = [];
  for (let i = 0; i < params; i++) {
    values.writeInt32BE(4, 8 * i);
    offsets.push(5 + head.length + 8 * i + 4);
  }
  const bind = message('B', Buffer.concat([head, values, int16(1), int16(1)]));
  const execute = message('E', Buffer.concat([cstring(''), Buffer.alloc(4)]));
  return { bytes: Buffer.concat([bind, execute]), paramOffsets: offsets };
}

/** The fields of an ErrorResponse/NoticeResponse we use: SQLSTATE, severity, message. */
export function parseErrorFields(buf: Buffer, start: number, end: number): { code: string; severity: string; message: string } {
  let code = 'XX000';
  let severity = 'ERROR';
  let text = '';
  let i = start;
  while (i < end && buf[i] !== 0) {
    const field = buf[i++];
    const stop = buf.indexOf(0, i);
    const value = buf.toString('utf8', i, stop);
    if (field === 0x43)
      code = value; // C
    else if (field === 0x56)
      severity = value; // V (non-localized)
    else if (field === 0x4d) text = value; // M
    i = stop + 1;
  }
  return { code, severity, message: text };
}
