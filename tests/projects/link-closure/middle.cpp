const char* greeting();
const char* middle() { return greeting(); }
