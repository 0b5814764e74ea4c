// The browser suite's entry for the thread modules (test_web_threads.py):
// the real client modules, exposed on window.varskoThreadTest for
// page.evaluate. Bundled by the test with esbuild into its copy of dist.
import * as codec from '../../clients/web/src/crypto/codec.js';
import { Conn, serverUrl } from '../../clients/web/src/client/conn.js';
import * as enroll from '../../clients/web/src/client/enroll.js';
import { Session } from '../../clients/web/src/client/session.js';
import * as vault from '../../clients/web/src/client/vault.js';
import * as userkey from '../../clients/web/src/client/userkey.js';
import * as threads from '../../clients/web/src/client/threads.js';
import * as attach from '../../clients/web/src/client/attach.js';

window.varskoThreadTest = { codec, Conn, serverUrl, enroll, Session, vault, userkey, threads, attach };
