/* test_time.c - ISO 8601 times and durations. */
#include <string.h>

#include "haven.h"
#include "testutil.h"

static void parses_dates_and_times(void **state)
{
    (void)state;
    hv_time t;
    assert_int_equal(hv_time_parse("1970-01-01", &t), HV_OK);
    assert_int_equal(t, 0);
    assert_int_equal(hv_time_parse("2026-11-28T09:30:00Z", &t), HV_OK);
    assert_int_equal(t, 1795858200);
    assert_int_equal(hv_time_parse("2026-11-28T09:30", &t), HV_OK);
    assert_int_equal(t, 1795858200);
    assert_int_equal(hv_time_parse("2026-11-28T11:30:00+02:00", &t), HV_OK);
    assert_int_equal(t, 1795858200);
    assert_int_equal(hv_time_parse("2024-02-29", &t), HV_OK);
}

static void refuses_bad_times(void **state)
{
    (void)state;
    hv_time t;
    const char *bad[] = {"", "2026", "2026-13-01", "2026-02-30", "2023-02-29",
                         "2026-11-28T24:00", "2026-11-28T09:60",
                         "2026-11-28T09:30:00X", "28/11/2026", "2026-1-1",
                         NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(hv_time_parse(bad[i], &t), HV_INVALID);
    assert_int_equal(hv_time_parse(NULL, &t), HV_INVALID);
}

/* Times from 1900 to 2200 only, whatever the offset says. */
static void refuses_times_outside_1900_to_2200(void **state)
{
    (void)state;
    hv_time t;
    const char *bad[] = {"1899-12-31", "1899-12-31T23:59:59Z", "0001-01-01",
                         "1900-01-01T00:30:00+01:00", "2200-01-01T00:00:01Z",
                         "2201-01-01", "2999-01-01", "9999-12-31T23:00:00Z",
                         NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(hv_time_parse(bad[i], &t), HV_INVALID);
    assert_int_equal(hv_time_parse("1900-01-01", &t), HV_OK);
    assert_int_equal(t, HV_TIME_MIN);
    assert_int_equal(hv_time_parse("2200-01-01T00:00:00Z", &t), HV_OK);
    assert_int_equal(t, HV_TIME_MAX);
    assert_int_equal(hv_time_parse("2199-12-31T23:00:00-01:00", &t), HV_OK);
    assert_int_equal(t, HV_TIME_MAX);
}

static void formats_round_trip(void **state)
{
    (void)state;
    char buf[32];
    hv_time t;
    hv_time_format(1795858200, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-28T09:30:00Z");
    hv_time_format(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59Z");
    for (hv_time x = -86400 * 400; x < 86400LL * 365 * 200; x += 86400 * 37 + 3601) {
        hv_time_format(x, buf, sizeof buf);
        assert_int_equal(hv_time_parse(buf, &t), HV_OK);
        assert_int_equal(t, x);
    }
}

static void parses_durations(void **state)
{
    (void)state;
    int64_t s;
    assert_int_equal(hv_duration_parse("48h", &s), HV_OK);
    assert_int_equal(s, 48 * 3600);
    assert_int_equal(hv_duration_parse("24h", &s), HV_OK);
    assert_int_equal(s, 86400);
    assert_int_equal(hv_duration_parse("14d", &s), HV_OK);
    assert_int_equal(s, 14 * 86400);
    assert_int_equal(hv_duration_parse("2w", &s), HV_OK);
    assert_int_equal(s, 14 * 86400);
    assert_int_equal(hv_duration_parse("3mo", &s), HV_OK);
    assert_int_equal(s, 90 * 86400);
    assert_int_equal(hv_duration_parse("90min", &s), HV_OK);
    assert_int_equal(s, 5400);
    const char *bad[] = {"", "h", "48", "48x", "-1d", "1.5d", "3 mo",
                         "99999999d", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(hv_duration_parse(bad[i], &s), HV_INVALID);
}

static void status_table_is_consistent(void **state)
{
    (void)state;
    assert_string_equal(hv_strerror(HV_NOTFOUND), "not found");
    assert_string_equal(hv_status_name(HV_BUSY), "BUSY");
    assert_int_equal(hv_status_exit_code(HV_OK), 0);
    assert_int_equal(hv_status_exit_code(HV_USAGE), 64);
    assert_int_equal(hv_status_exit_code(HV_INVALID), 65);
    assert_int_equal(hv_status_exit_code(HV_CONFLICT), 65);
    assert_int_equal(hv_status_exit_code(HV_NOINPUT), 66);
    assert_int_equal(hv_status_exit_code(HV_NOTFOUND), 69);
    assert_int_equal(hv_status_exit_code(HV_INTERNAL), 70);
    assert_int_equal(hv_status_exit_code(HV_CANTCREATE), 73);
    assert_int_equal(hv_status_exit_code(HV_BUSY), 75);
    assert_int_equal(hv_status_exit_code(HV_DENIED), 77);
    assert_string_equal(hv_strerror((hv_status)999), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_dates_and_times),
        cmocka_unit_test(refuses_bad_times),
        cmocka_unit_test(refuses_times_outside_1900_to_2200),
        cmocka_unit_test(formats_round_trip),
        cmocka_unit_test(parses_durations),
        cmocka_unit_test(status_table_is_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
