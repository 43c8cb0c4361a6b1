const char* greeting() { return GREETING; }
