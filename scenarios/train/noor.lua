-- noor.lua - the trainee exercise for "Noor" (seed 001, section 8): the
-- referral, the template's four parts, and the seed's model answer.
return {
  name = "Noor",
  workflow = "iasc", rules = "default", start = "2026-11-30T09:00:00Z",
  referral = {
    "\"Noor,\" a 12-year-old girl, was referred to your organization by her school.",
    "The school noticed Noor has recently become withdrawn, shows signs of sadness and",
    "anxiety, and her academic performance has significantly declined. Noor lives with her",
    "mother and younger brother (8 years old) after her parents separated a year ago. The",
    "mother works long hours, appears stressed, and faces financial difficulties.",
  },
  registration = {
    source = "school", location = "Riverside",
    concerns = { "emotional_distress", "school_decline" },
    child = { name = "Noor", age = 12, sex = "female" },
    consent = { registration = "both", information_sharing = "caregiver" },
  },
  model = {
    needs = { "Psychosocial support for Noor to cope with sadness, anxiety, withdrawal, and the impact of parental separation",
              "Support for the mother to manage stress (psychological and financial) and enhance parenting skills",
              "Academic support for Noor" },
    risks = { "Risk of deteriorating mental health for Noor",
              "Risk of emotional or physical neglect due to mother's stress",
              "Risk of school dropout" },
    strengths = { "Noor's connection to the school (being the referral source)",
                  "Mother's presence in Noor's life (despite stress)",
                  "School's awareness of Noor's problem" },
    info_needed = { "Nature of the \"problems at home\"",
                    "Details of Noor's relationship with her mother, brother, and father",
                    "The family's precise financial situation", "Noor's views on her situation",
                    "Family's social support network" },
    goal = "Within a 6-month period, Noor's psychosocial and social well-being will be improved, "
        .. "demonstrated by a reduction in symptoms of anxiety and sadness, increased social "
        .. "participation, and improved academic performance; the mother will receive effective "
        .. "support to reduce psychological and financial stress.",
    indicators = { "reduction in symptoms of anxiety and sadness (periodic assessments and school feedback)",
                   "increased social participation and positive peer interaction",
                   "improved academic performance (monitored with the school)" },
    target = "6 months",
    actions = {
      { "Conduct Comprehensive Best Interests Assessment", "caseworker", "2 weeks" },
      { "Provide Initial Psychosocial Support (PSS) for Noor", "caseworker", "ongoing, starting immediately" },
      { "Refer Mother for Support Services", "caseworker", "1 month" },
      { "Coordinate with the School", "caseworker", "1 month" },
      { "Explore Father's Involvement", "caseworker", "2 months" },
    },
    followup = "Home visit or meeting with Noor and mother every two weeks for the first two months, then monthly. Bi-weekly phone check-in with the school.",
    followup_every = "2 weeks",
    review = "Formal case plan review meeting after 3 months of implementation.",
    review_after = "3 months",
  },
}
