"""Claims per engine: :mod:`.ou` (with its run, :mod:`.ou_run`) and :mod:`.gradient` (:mod:`.gradient_run`)."""
