const char* tarred() { return "from an archive"; }
