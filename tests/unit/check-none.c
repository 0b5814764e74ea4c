/*
 * check-none.c: a test binary that runs no check fails (check.h), so a test
 * whose checks were all skipped by mistake cannot pass. Registered with
 * should_fail.
 */
#include "check.h"

int main(void)
{
	return check_result();
}
