/*
 * deadline_plan.c: the deadline rows of an underretning (deadline_plan.h;
 * DOMAIN.md "The legal deadlines the system tracks"). Pure: the calendar and
 * the configuration only, no clock, no store, no event loop; it lives in the
 * store library (gwstore) so that the daemon's submit job and the unit tests
 * call it without linking the engine.
 */
#include "deadline_plan.h"

#include "calendar.h"
#include "config.h"
#include "varsko/err.h"

int deadline_plan(const struct config *cfg, int64_t received, struct deadline_plan_row *rows, size_t *n)
{
	struct cal_local due_day;
	struct cal_date warn_day;
	int64_t due, warn;
	int r;

	if (n != NULL)
		*n = 0;
	if (cfg == NULL || rows == NULL || n == NULL)
		return VARSKO_ERR_BAD_INPUT;

	/* vurdering: 24 hours; warned warn_vurdering_minutes before (0: never). */
	if ((r = cal_vurdering_due(received, &due)) != VARSKO_OK)
		return r;
	warn = 0;
	if (cfg->warn_vurdering_minutes > 0)
		warn = due - (int64_t)cfg->warn_vurdering_minutes * 60;
	rows[0] = (struct deadline_plan_row){"vurdering", due, warn};

	/*
	 * kvittering: the end of the 6th hverdag; warned at the end of the
	 * hverdag warn_kvittering_hverdage hverdage before the due day (due
	 * Tuesday 1 December 2026 and 1 hverdag: the end of Monday 30 November).
	 * At most 5 hverdage before the 6th is the end of the 1st hverdag after
	 * the day of receipt, so a warning is never before the receipt.
	 */
	if ((r = cal_kvittering_due(received, &due)) != VARSKO_OK)
		return r;
	warn = 0;
	if (cfg->warn_kvittering_hverdage > 0) {
		if (cfg->warn_kvittering_hverdage > 5)
			return VARSKO_ERR_BAD_INPUT;
		if ((r = cal_to_local(due, &due_day)) != VARSKO_OK ||
		    (r = cal_add_hverdage(due_day.year, due_day.month, due_day.day, -cfg->warn_kvittering_hverdage,
		                          &warn_day)) != VARSKO_OK ||
		    (r = cal_local_day_end(warn_day.year, warn_day.month, warn_day.day, &warn)) != VARSKO_OK)
			return r;
	}
	rows[1] = (struct deadline_plan_row){"kvittering", due, warn};

	/* tilbagemelding: the municipality's own target; reported, never warned about. */
	if ((r = cal_tilbagemelding_due(received, cfg->tilbagemelding_days, &due)) != VARSKO_OK)
		return r;
	rows[2] = (struct deadline_plan_row){"tilbagemelding", due, 0};
	*n = 3;
	return VARSKO_OK;
}
