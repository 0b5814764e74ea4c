/*
 * mqtt.h: varskod's MQTT side (libmosquitto): the outbox publisher and the
 * subscriber for acknowledgements (DESIGN.md "The underretning flow",
 * steps 5 and 6; PROTOCOL.md "MQTT").
 *
 * Publisher: on every tick and every kick it asks the store worker for due
 * outbox rows (store_outbox_take) and publishes each at QoS 1, not
 * retained. A row is marked by store_outbox_puback() only from on_publish
 * (the broker's PUBACK), through a worker job. Rows that need the agent's
 * `modtaget` and `journaliseret` stay due and go out again with backoff
 * until both have come. After
 * every (re)connect all rows that are not done are made due at once
 * (store_outbox_rearm); reconnects back off (1 s doubling to 30 s).
 *
 * Subscriber: varsko/<tenant>/ack at QoS 1 with a persistent session
 * (clean_session false; the broker names the session after the
 * certificate's CN, use_username_as_clientid, and we ask for "varskod").
 * Each message is parsed (flow_mqtt_parse), applied on the worker with
 * event_apply() (an event) or refusal_apply() (an agent's refusal: a dead
 * letter, pushed to the team's leders), and the resulting push frame goes
 * to server_push(). A bad message is counted and audited ("mqtt_refused",
 * reason=<error name>), never fatal. A good one is never refused for load:
 * when MQTT_ACK_JOBS_MAX messages wait for the worker, the network thread
 * waits for room and reads nothing more meanwhile.
 * Rows that are dead letters (store_outbox_dead) are never taken again
 * until varskoctl outbox retry.
 *
 * Threads: mqtt_start/mqtt_stop and the tick/kick functions run on the lws
 * thread; libmosquitto runs its own network thread (mosquitto_loop_start),
 * whose callbacks only hand work to the worker (worker_submit is
 * thread-safe). Nothing here blocks the lws thread.
 */
#ifndef VARSKO_MQTT_H
#define VARSKO_MQTT_H

#include <stdint.h>

struct config;
struct server;
struct mqtt;

/*
 * Start when cfg has mqtt_host (else *out = NULL and VARSKO_OK: MQTT off).
 * Needs mqtt_port, mqtt_ca, mqtt_cert, mqtt_key (TLS with client
 * certificate, server certificate verified). Registers its tick and kick
 * with the server (server_add_tick, server_set_outbox_kick). Connecting is
 * asynchronous: a broker that is down is not an error. cfg and srv are
 * borrowed until mqtt_stop(). Returns VARSKO_OK, VARSKO_ERR_CONFIG,
 * VARSKO_ERR_TLS, VARSKO_ERR_NOMEM.
 */
int mqtt_start(struct mqtt **out, const struct config *cfg, struct server *srv);

/* Disconnect, stop the network thread and free. NULL-safe. Call before server_destroy(). */
void mqtt_stop(struct mqtt *m);

#endif
