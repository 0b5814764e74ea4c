/*
 * fuzz-config.c: config_parse() on arbitrary bytes. It must never crash or
 * leak; a configuration it accepts must have every required key, every
 * number inside its range and only wss:// origins; a refusal must come with
 * a "NAME:LINE: message" text and a zeroed struct.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "varsko/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ok(const struct config *c)
{
	size_t i;

	if (!c->tls_cert || !c->tls_key || !c->database || !c->org_key || !c->gateway_key || !c->gateway_cert ||
	    !c->listen || !c->tenant)
		abort();
	if (c->port < 1 || c->port > 65535 || c->handshake_timeout < 1 || c->handshake_timeout > 300 ||
	    c->idle_timeout < 10 || c->idle_timeout > 86400 || c->max_frame < 1024 || c->max_frame > 16777216 ||
	    c->device_validity_days < 1 || c->device_validity_days > 3650 || c->invite_validity_hours < 1 ||
	    c->invite_validity_hours > 720 || c->max_sessions < 1 || c->max_sessions > 100000 || c->log_level < 0 ||
	    c->log_level > CONFIG_LOG_DEBUG || c->mqtt_port < 0 || c->mqtt_port > 65535)
		abort();
	if (c->n_origins < 1 || c->n_origins > CONFIG_ORIGINS_MAX || c->origins == NULL)
		abort();
	for (i = 0; i < c->n_origins; i++) {
		if (c->origins[i] == NULL || strncmp(c->origins[i], "wss://", 6) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct config zero;
	struct config c;
	char err[256];
	int r;

	r = config_parse((const char *)data, size, "fuzz", &c, err, sizeof(err));
	if (r == VARSKO_OK) {
		check_ok(&c);
		config_free(&c);
	} else {
		if (r != VARSKO_ERR_CONFIG && r != VARSKO_ERR_NOMEM)
			abort();
		if (strncmp(err, "fuzz:", 5) != 0 || memcmp(&c, &zero, sizeof(c)) != 0)
			abort();
	}
	/* A tiny error buffer is always NUL-terminated. */
	r = config_parse((const char *)data, size, "fuzz", &c, err, 4);
	if (r == VARSKO_OK)
		config_free(&c);
	else if (strlen(err) > 3)
		abort();
	return 0;
}
