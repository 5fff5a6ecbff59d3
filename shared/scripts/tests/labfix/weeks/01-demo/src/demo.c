/* demo.c — a fixture: three exercises whose ids differ only as strings. */
int demo_one(void)
{
    /* LAB:BEGIN 1.1 Return one. */
    return 1;
    /* LAB:END return 0; */
}

int demo_two(void)
{
    /* LAB:BEGIN 1.2 Return two. */
    return 2;
    /* LAB:END return 0; */
}

int demo_ten(void)
{
    /* LAB:BEGIN 1.10 Return ten. */
    return 10;
    /* LAB:END return 0; */
}
