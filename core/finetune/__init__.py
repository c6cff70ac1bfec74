"""Fine-tuning: a provider interface, the OpenAI provider, start / check / apply."""
