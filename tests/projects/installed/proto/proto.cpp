int proto_answer() { return 42; }
