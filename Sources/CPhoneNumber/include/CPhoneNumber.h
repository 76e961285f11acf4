#ifdef __cplusplus
extern "C" {
#endif
int herald_phone_placeholder(void);
#ifdef __cplusplus
}
#endif
