/*
 * libatf-c leaks its test case list when it lists cases (-l): keep
 * LeakSanitizer quiet about it in the sanitizer build.  Included once by
 * each test program.
 */
const char *__lsan_default_options(void);
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

const char *
__lsan_default_suppressions(void)
{
	return "leak:libatf-c\n";
}
